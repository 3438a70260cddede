namespace NetLabs.Proxy;

/// <summary>
/// Reads one side of an HTTP/1.x connection: message heads (up to a byte limit), chunk-size lines, and body bytes,
/// through one fixed buffer. What arrived after a head (the start of the body, a pipelined request) stays in the
/// buffer for the next read, so nothing is lost between head and body — the "first 1024 bytes" bug of many proxies.
/// Memory per connection is the buffer, whatever the peer sends.
/// </summary>
public sealed class HttpMessageReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer;
    private int _start, _end;

    /// <param name="stream">The connection.</param>
    /// <param name="maxHeadBytes">Longest head accepted; the buffer is this size (at least 4 KiB).</param>
    public HttpMessageReader(Stream stream, int maxHeadBytes)
    {
        _stream = stream;
        _buffer = new byte[Math.Max(4096, maxHeadBytes)];
    }

    /// <summary>Bytes received and not yet consumed.</summary>
    public int Buffered => _end - _start;

    /// <summary>
    /// Reads up to the blank line that ends a head and returns the head (without the blank line), or null when the
    /// peer closed before sending anything. Leading empty lines are skipped (RFC 9112 §2.2). The memory returned is the
    /// reader's own buffer: parse it before the next read, which may overwrite it.
    /// </summary>
    /// <exception cref="HeadTooLargeException">No blank line within the buffer.</exception>
    /// <exception cref="EndOfStreamException">The peer closed in the middle of a head.</exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadHeadAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            while (_start < _end && (_buffer[_start] == '\r' || _buffer[_start] == '\n')) _start++;
            var end = FindBlankLine(_buffer.AsSpan(_start, _end - _start), scanned, out var blankLength);
            if (end >= 0)
            {
                var head = new ReadOnlyMemory<byte>(_buffer, _start, end);
                _start += end + blankLength;
                return head;
            }
            scanned = Math.Max(0, _end - _start - 3);
            if (_end - _start >= _buffer.Length) throw new HeadTooLargeException(_buffer.Length);
            if (await FillAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                if (_end == _start) return null;
                throw new EndOfStreamException("The connection closed in the middle of a message head.");
            }
        }
    }

    /// <summary>Reads one CRLF- (or LF-) terminated line, at most <paramref name="maxBytes"/> long, without its end.</summary>
    public async ValueTask<string> ReadLineAsync(int maxBytes, CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = scanned + newline;
                var line = System.Text.Encoding.Latin1.GetString(_buffer, _start, length > 0 && _buffer[_start + length - 1] == '\r' ? length - 1 : length);
                _start += length + 1;
                return line;
            }
            scanned = _end - _start;
            if (scanned > maxBytes) throw new InvalidDataException($"A line longer than {maxBytes} bytes.");
            if (await FillAsync(cancellationToken).ConfigureAwait(false) == 0)
                throw new EndOfStreamException("The connection closed in the middle of a line.");
        }
    }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes (buffered ones first); 0 when the peer closed.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            // Large reads go straight into the caller's memory: a body is copied once, not twice.
            if (destination.Length >= _buffer.Length) return await _stream.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            if (await FillAsync(cancellationToken).ConfigureAwait(false) == 0) return 0;
        }
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsMemory(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }

    private async ValueTask<int> FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end) _start = _end = 0;
        else if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        return read;
    }

    /// <summary>Index of the line end before the blank line (CRLFCRLF or LFLF, or mixed), or -1.</summary>
    private static int FindBlankLine(ReadOnlySpan<byte> data, int from, out int blankLength)
    {
        for (var i = data[from..].IndexOf((byte)'\n'); i >= 0;)
        {
            var at = from + i;
            var next = at + 1;
            if (next < data.Length && data[next] == '\n') { blankLength = 2; return TrimCr(data, at, ref blankLength); }
            if (next + 1 < data.Length && data[next] == '\r' && data[next + 1] == '\n') { blankLength = 3; return TrimCr(data, at, ref blankLength); }
            from = next;
            i = data[from..].IndexOf((byte)'\n');
        }
        blankLength = 0;
        return -1;
    }

    private static int TrimCr(ReadOnlySpan<byte> data, int newline, ref int blankLength)
    {
        if (newline > 0 && data[newline - 1] == '\r') { blankLength++; return newline - 1; }
        return newline;
    }
}

/// <summary>A message head did not end within the limit.</summary>
public sealed class HeadTooLargeException(int limit) : IOException($"The message head is longer than {limit} bytes.")
{
    public int Limit { get; } = limit;
}

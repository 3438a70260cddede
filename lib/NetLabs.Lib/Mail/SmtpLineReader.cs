using System.Runtime.CompilerServices;

namespace NetLabs.Mail;

/// <summary>What <see cref="SmtpLineReader.ReadLineAsync"/> found.</summary>
public enum SmtpLineStatus
{
    /// <summary>A complete line; its bytes (without CRLF) are in <see cref="SmtpLineReader.Line"/>.</summary>
    Line,
    /// <summary>A line longer than the limit: it was read to its end and thrown away.</summary>
    TooLong,
    /// <summary>The peer closed the connection (a partial last line is dropped).</summary>
    EndOfStream,
}

/// <summary>
/// Reads CRLF-terminated lines from a stream through one fixed buffer, for client and server alike. A line ends
/// only at CR LF: a bare LF stays part of the line (accepting it as a line end is how "SMTP smuggling" works).
/// Lines over the limit are skipped to their end without being kept, so a 10 MB line costs no memory.
/// </summary>
public sealed class SmtpLineReader(Stream stream, int bufferSize = 16 * 1024)
{
    private Stream _stream = stream;
    private readonly byte[] _buffer = new byte[bufferSize];
    private byte[] _line = new byte[1024];
    private int _lineLength;
    private int _start, _end;

    /// <summary>The last line read, without its CRLF; valid until the next read.</summary>
    public ReadOnlyMemory<byte> Line => _line.AsMemory(0, _lineLength);

    /// <summary>Bytes already received but not yet read as lines (pipelined commands).</summary>
    public bool HasBufferedData => _start < _end;

    /// <summary>A complete line is already buffered, so reading it will not wait for the peer.</summary>
    public bool HasBufferedLine => _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8) >= 0;

    /// <summary>
    /// Continues on another stream (the TLS stream after STARTTLS). Anything buffered from before the handshake
    /// is thrown away and reported: commands injected in plain text must never be run as if they came over TLS.
    /// </summary>
    public int SwitchStream(Stream newStream)
    {
        var discarded = _end - _start;
        _stream = newStream;
        _start = _end = 0;
        return discarded;
    }

    // Pooled: a server reads a line per command and per line of a message, and each wait would otherwise allocate its state.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<SmtpLineStatus> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        _lineLength = 0;
        var tooLong = false;
        var previousWasCr = false;
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (_end == 0) return SmtpLineStatus.EndOfStream;
            }
            var chunk = _buffer.AsSpan(_start, _end - _start);
            var lf = chunk.IndexOf((byte)'\n');
            // A CR at the end of the previous chunk followed by LF at the start of this one still ends the line.
            while (lf >= 0 && !(lf > 0 ? chunk[lf - 1] == '\r' : previousWasCr || (_lineLength > 0 && _line[_lineLength - 1] == '\r')))
            {
                var next = chunk[(lf + 1)..].IndexOf((byte)'\n');
                lf = next < 0 ? -1 : lf + 1 + next;
            }
            var take = lf >= 0 ? lf + 1 : chunk.Length;
            if (!tooLong)
            {
                if (_lineLength + take > maxLength + 2) tooLong = true;
                else Append(chunk[..take]);
            }
            previousWasCr = chunk[take - 1] == '\r';
            _start += take;
            if (lf >= 0)
            {
                if (tooLong) { _lineLength = 0; return SmtpLineStatus.TooLong; }
                _lineLength -= 2; // the CRLF
                return SmtpLineStatus.Line;
            }
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_lineLength + bytes.Length > _line.Length)
            Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLength + bytes.Length));
        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }
}

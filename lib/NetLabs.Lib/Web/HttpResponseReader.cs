using System.Globalization;
using System.Text;

namespace NetLabs.Web;

/// <summary>A response as read off the wire (see <see cref="HttpExchange"/>); <see cref="Leftover"/>: bytes after it.</summary>
internal sealed record ParsedResponse(string Version, int Status, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body, long BodyLength, string Framing, byte[] Raw, int HeadLength, bool ServerClosed, byte[] Leftover);

/// <summary>
/// Reads one HTTP/1.x response from a stream and finds where it ends, the way RFC 9112 §6.3 says: no body (HEAD, 204,
/// 304), chunked, Content-Length, or until the server closes. Interim 1xx responses are skipped. The bytes are kept as
/// they were on the wire, except a body sent to <c>bodySink</c>, which is written there as it arrives and never held
/// in memory (no size limit then). A response that cannot be read throws <see cref="BrokenResponse"/>; what had
/// arrived is still in <see cref="Received"/>.
/// </summary>
internal sealed class HttpResponseReader(Stream stream, long maxBytes, bool headRequest, ReadOnlySpan<byte> leftover, Stream? bodySink = null)
{
    private const int MaxHeadBytes = 64 * 1024;
    private const int MaxLineBytes = 8 * 1024; // a chunk-size or trailer line

    /// <summary>A response that cannot be read; the message is one sentence for the user.</summary>
    public sealed class BrokenResponse(HttpClientFailure failure, string message) : Exception(message)
    {
        public HttpClientFailure Failure { get; } = failure;
    }

    private byte[] _buffer = NewBuffer(leftover);
    private int _start, _end = leftover.Length;        // received, not yet read: _buffer[_start.._end]
    private readonly MemoryStream _wire = new();        // read so far, as on the wire (heads, and the body unless it goes to the sink)
    private readonly MemoryStream _body = new();        // the body without its framing (unless it goes to the sink)
    private long _bodyLength;
    private bool _closed;

    /// <summary>The status of the final response once its head is read.</summary>
    public int? Status { get; private set; }

    /// <summary>Every byte received so far (also those not read yet).</summary>
    public byte[] Received => [.. _wire.GetBuffer().AsSpan(0, (int)_wire.Length), .. _buffer.AsSpan(_start, _end - _start)];

    public async Task<ParsedResponse> ReadAsync(CancellationToken cancellationToken)
    {
        var head = await ReadHeadAsync(cancellationToken).ConfigureAwait(false);
        while (head.Status is >= 100 and < 200 and not 101) // an interim response (100 Continue): the real one follows
            head = await ReadHeadAsync(cancellationToken).ConfigureAwait(false);
        Status = head.Status;
        var headLength = (int)_wire.Length;
        var framing = await ReadBodyAsync(head, cancellationToken).ConfigureAwait(false);
        return new ParsedResponse(head.Version, head.Status, head.Reason, head.Headers, _body.ToArray(), _bodyLength, framing,
            _wire.ToArray(), headLength, _closed, _buffer.AsSpan(_start, _end - _start).ToArray());
    }

    private async Task<Head> ReadHeadAsync(CancellationToken cancellationToken)
    {
        int end;
        while ((end = HttpRequest.FindHeadEnd(Unread)) < 0)
        {
            if (Unread.Length > MaxHeadBytes) throw new BrokenResponse(HttpClientFailure.Malformed, $"The response head is longer than {MaxHeadBytes / 1024} KB.");
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                throw Unread.IsEmpty
                    ? new BrokenResponse(HttpClientFailure.ClosedWithoutAnswer, "The server closed the connection without answering.")
                    : new BrokenResponse(HttpClientFailure.Truncated, "The server closed the connection in the middle of the response head.");
        }
        var head = Head.Parse(Unread[..end]);
        Read(end, isBody: false);
        return head;
    }

    /// <summary>Reads the body; returns how its end was found.</summary>
    private async Task<string> ReadBodyAsync(Head head, CancellationToken cancellationToken)
    {
        if (headRequest || head.Status is 204 or 304)
            return "no body (" + (headRequest ? "HEAD" : head.Status.ToString(CultureInfo.InvariantCulture)) + ")";

        if (head.Header("Transfer-Encoding") is { } coding && coding.TrimEnd().EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
        {
            await ReadChunkedAsync(cancellationToken).ConfigureAwait(false);
            return "chunked";
        }

        if (head.Header("Content-Length") is { } lengthText)
        {
            if (!long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                throw new BrokenResponse(HttpClientFailure.Malformed, $"Unusable Content-Length: '{lengthText}'.");
            CheckSize(length);
            await ReadBodyBytesAsync(length, got => $"The server closed the connection after {got} of {length} body bytes.", cancellationToken).ConfigureAwait(false);
            return "Content-Length";
        }

        do
        {
            CheckSize(_end - _start);
            await TakeBodyAsync(_end - _start, cancellationToken).ConfigureAwait(false);
        }
        while (await FillAsync(cancellationToken).ConfigureAwait(false));
        return "until close";
    }

    /// <summary>Chunked body: "size-in-hex\r\n", that many bytes, "\r\n", …, "0\r\n", trailers, "\r\n".</summary>
    private async Task ReadChunkedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var sizeText = (await ReadLineAsync(cancellationToken).ConfigureAwait(false)).Split(';')[0].Trim();
            if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0)
                throw new BrokenResponse(HttpClientFailure.Malformed, $"Bad chunk size '{sizeText}'.");
            if (size == 0)
            {
                while ((await ReadLineAsync(cancellationToken).ConfigureAwait(false)).Length > 0) { } // trailer lines up to an empty one
                return;
            }
            CheckSize(size);
            await ReadBodyBytesAsync(size, _ => "The server closed the connection in the middle of a chunk.", cancellationToken).ConfigureAwait(false);
            if ((await ReadLineAsync(cancellationToken).ConfigureAwait(false)).Length > 0)
                throw new BrokenResponse(HttpClientFailure.Malformed, "A chunk does not end with CRLF.");
        }
    }

    /// <summary>The next line (CRLF or LF ends it), without its line end.</summary>
    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        int lf;
        while ((lf = Unread.IndexOf((byte)'\n')) < 0)
        {
            if (Unread.Length > MaxLineBytes) throw new BrokenResponse(HttpClientFailure.Malformed, $"A line of the chunked body is longer than {MaxLineBytes / 1024} KB.");
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                throw new BrokenResponse(HttpClientFailure.Truncated, "The server closed the connection in the middle of the chunked body.");
        }
        var line = Encoding.Latin1.GetString(HttpFields.TrimCr(Unread[..lf]));
        Read(lf + 1, isBody: false);
        return line;
    }

    private async Task ReadBodyBytesAsync(long count, Func<long, string> closedMessage, CancellationToken cancellationToken)
    {
        var got = 0L;
        while (got < count)
        {
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
                throw new BrokenResponse(HttpClientFailure.Truncated, closedMessage(got));
            var take = (int)Math.Min(count - got, _end - _start);
            await TakeBodyAsync(take, cancellationToken).ConfigureAwait(false);
            got += take;
        }
    }

    /// <summary>Reads <paramref name="count"/> unread bytes as body: into the sink, or kept.</summary>
    private async ValueTask TakeBodyAsync(int count, CancellationToken cancellationToken)
    {
        if (bodySink is not null) await bodySink.WriteAsync(_buffer.AsMemory(_start, count), cancellationToken).ConfigureAwait(false);
        Read(count, isBody: true);
    }

    /// <summary>A body kept in memory stays within <c>maxBytes</c>; one written to the sink has no limit.</summary>
    private void CheckSize(long bodyBytes)
    {
        if (bodySink is null && _body.Length + bodyBytes > maxBytes)
            throw new BrokenResponse(HttpClientFailure.TooLarge, $"Response larger than {maxBytes} bytes.");
    }

    private ReadOnlySpan<byte> Unread => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Moves <paramref name="count"/> bytes from unread to read: kept as wire bytes, and as body if they are.</summary>
    private void Read(int count, bool isBody)
    {
        var bytes = _buffer.AsSpan(_start, count);
        if (isBody)
        {
            _bodyLength += count;
            if (bodySink is null) _body.Write(bytes);
        }
        if (!isBody || bodySink is null) _wire.Write(bytes);
        _start += count;
    }

    /// <summary>Receives more bytes; false once the server has closed.</summary>
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_closed) return false;
        if (_start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            if (_start > 0) Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            else Array.Resize(ref _buffer, _buffer.Length * 2); // a head or a line that does not fit yet: bounded by their limits
            (_start, _end) = (0, _end - _start);
        }
        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _closed = true;
            return false;
        }
        _end += read;
        return true;
    }

    private static byte[] NewBuffer(ReadOnlySpan<byte> leftover)
    {
        var buffer = new byte[Math.Max(16 * 1024, leftover.Length)];
        leftover.CopyTo(buffer);
        return buffer;
    }

    /// <summary>A response head: the status line (strict: "HTTP/1.x", three digits) and the header fields (<see cref="HttpFields"/>).</summary>
    private sealed record Head(string Version, int Status, string Reason, List<KeyValuePair<string, string>> Headers)
    {
        public string? Header(string name) => Headers.LastOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

        public static Head Parse(ReadOnlySpan<byte> bytes)
        {
            var lineEnd = bytes.IndexOf((byte)'\n');
            var statusLine = Encoding.Latin1.GetString(HttpFields.TrimCr(bytes[..lineEnd]));
            var parts = statusLine.Split(' ', 3);
            if (parts.Length < 2 || parts[0].Length != 8 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !char.IsAsciiDigit(parts[0][7])
                || parts[1].Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status < 100)
                throw new BrokenResponse(HttpClientFailure.Malformed, $"Not an HTTP status line: '{statusLine}'.");
            var headers = new List<KeyValuePair<string, string>>();
            if (!HttpFields.TryParse(bytes[(lineEnd + 1)..], int.MaxValue, headers, out var error))
                throw new BrokenResponse(HttpClientFailure.Malformed, $"The response head is not valid HTTP: {error.Reason}.");
            return new Head(parts[0], status, parts.Length > 2 ? parts[2] : "", headers);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Web;

/// <summary>How <see cref="HttpRawClient"/> sends its request.</summary>
public sealed record HttpRawRequestOptions
{
    /// <summary>"GET" or "HEAD" (a HEAD response has no body, whatever its Content-Length says).</summary>
    public string Method { get; init; } = "GET";
    /// <summary>HTTP/1.1 (default) or HTTP/1.0 on the request line.</summary>
    public bool Http10 { get; init; }
    /// <summary>Extra header lines, after Host, User-Agent and Accept.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>Ask the server to close after the response ("Connection: close"); the client closes anyway.</summary>
    public bool Close { get; init; } = true;
    /// <summary>Whole exchange: connect, send, receive (a slow client's <see cref="SendDuration"/> included).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A slow client (a person typing in telnet, a bad link): the request goes out in small pieces
    /// spread over this time. Zero: all at once.</summary>
    public TimeSpan SendDuration { get; init; }
    /// <summary>Largest response accepted.</summary>
    public long MaxResponseBytes { get; init; } = 64L * 1024 * 1024;
}

/// <summary>
/// The lab's optional client: HTTP over a plain TCP socket, no HTTP library. Sends one request, reads the
/// response the way HTTP/1.1 says it ends (Content-Length, chunked, or the server closing), and keeps every
/// byte sent and received so the exchange can be shown as it was on the wire.
/// <code>var exchange = await HttpRawClient.GetAsync("localhost", 6789, "HelloWorld.html");</code>
/// </summary>
public static class HttpRawClient
{
    private const string UserAgent = "NetLabs-RawClient/1.0";

    /// <summary>GET (or <see cref="HttpRawRequestOptions.Method"/>) a file: <c>client host port filename</c>.</summary>
    public static Task<HttpExchange> GetAsync(string host, int port, string path, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions();
        return SendAsync(host, port, BuildRequest(host, port, path, options), options, cancellationToken);
    }

    /// <summary>GET an http:// URL.</summary>
    public static Task<HttpExchange> GetAsync(Uri url, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (url.Scheme != Uri.UriSchemeHttp) throw new ArgumentException("Only http:// URLs: this client speaks plain TCP, no TLS.", nameof(url));
        return GetAsync(url.IdnHost, url.Port, url.PathAndQuery, options, cancellationToken);
    }

    /// <summary>
    /// The request bytes <see cref="GetAsync(string,int,string,HttpRawRequestOptions?,CancellationToken)"/> sends:
    /// request line, Host, User-Agent, Accept, Connection, extra headers, empty line; CRLF line ends.
    /// </summary>
    public static byte[] BuildRequest(string host, int port, string path, HttpRawRequestOptions? options = null)
    {
        options ??= new HttpRawRequestOptions();
        var hostHeader = host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
        if (port != 80) hostHeader += ":" + port.ToString(CultureInfo.InvariantCulture);
        var text = new StringBuilder()
            .Append(options.Method).Append(' ').Append(RequestTarget(path)).Append(options.Http10 ? " HTTP/1.0" : " HTTP/1.1").Append("\r\n")
            .Append("Host: ").Append(hostHeader).Append("\r\n")
            .Append("User-Agent: ").Append(UserAgent).Append("\r\n")
            .Append("Accept: */*\r\n");
        if (options.Close) text.Append("Connection: close\r\n");
        else if (options.Http10) text.Append("Connection: keep-alive\r\n");
        foreach (var (name, value) in options.Headers) text.Append(name).Append(": ").Append(value).Append("\r\n");
        return Encoding.Latin1.GetBytes(text.Append("\r\n").ToString());
    }

    /// <summary>
    /// A file name as a request target: a leading "/" added, and anything that may not appear in a target
    /// (spaces, non-ASCII letters, controls) percent-encoded as UTF-8. "%" and "/" are left as given.
    /// </summary>
    public static string RequestTarget(string path)
    {
        var target = new StringBuilder(path.StartsWith('/') || path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "" : "/");
        foreach (var b in Encoding.UTF8.GetBytes(path))
            if (b is > 0x20 and < 0x7F and not (byte)'"' and not (byte)'<' and not (byte)'>' and not (byte)'\\' and not (byte)'^' and not (byte)'`' and not (byte)'{' and not (byte)'|' and not (byte)'}')
                target.Append((char)b);
            else
                target.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        return target.ToString();
    }

    /// <summary>
    /// Sends <paramref name="request"/> exactly as given (any bytes: the tests send hostile ones), then reads one
    /// response, on a new connection. <paramref name="options"/> gives the timeout and the slow-client pace.
    /// </summary>
    public static async Task<HttpExchange> SendAsync(string host, int port, byte[] request, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        try
        {
            await using var connection = await HttpRawConnection.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            return await connection.SendAsync(request, options, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No complete response from {host}:{port} within {options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Reads one response from a stream, keeping the raw bytes, and finds where it ends.</summary>
    internal sealed class ResponseReader(Stream stream, long maxBytes, bool headRequest, ReadOnlySpan<byte> leftover)
    {
        private readonly MemoryStream _raw = NewRaw(leftover);
        private readonly byte[] _chunk = new byte[16 * 1024];
        private bool _closed;

        public async Task<ParsedResponse> ReadAsync(CancellationToken cancellationToken)
        {
            var start = 0;
            while (true)
            {
                var headEnd = await ReadHeadAsync(start, cancellationToken).ConfigureAwait(false);
                var head = ParseHead(_raw.GetBuffer().AsSpan(start, headEnd - start));
                if (head.Status is >= 100 and < 200 and not 101)
                {
                    start = headEnd; // an interim response (100 Continue): the real one follows
                    continue;
                }
                var (body, framing, end) = await ReadBodyAsync(head, headEnd, cancellationToken).ConfigureAwait(false);
                var raw = _raw.GetBuffer();
                return new ParsedResponse(head.Version, head.Status, head.Reason, head.Headers, body, framing,
                    raw.AsSpan(0, end).ToArray(), headEnd, _closed, raw.AsSpan(end, (int)_raw.Length - end).ToArray());
            }
        }

        private async Task<int> ReadHeadAsync(int start, CancellationToken cancellationToken)
        {
            while (true)
            {
                var end = HttpRequest.FindHeadEnd(_raw.GetBuffer().AsSpan(start, (int)_raw.Length - start));
                if (end >= 0) return start + end;
                if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                    throw new InvalidDataException(_raw.Length == start
                        ? "The server closed the connection without answering."
                        : "The server closed the connection in the middle of the response head.");
            }
        }

        private static MemoryStream NewRaw(ReadOnlySpan<byte> leftover)
        {
            var raw = new MemoryStream();
            raw.Write(leftover);
            return raw;
        }

        /// <summary>The body, how its end was found, and where the response ends in the raw bytes.</summary>
        private async Task<(byte[] Body, string Framing, int End)> ReadBodyAsync(Head head, int headEnd, CancellationToken cancellationToken)
        {
            if (headRequest || head.Status is 204 or 304)
                return ([], "no body (" + (headRequest ? "HEAD" : head.Status.ToString(CultureInfo.InvariantCulture)) + ")", headEnd);

            if (head.Header("Transfer-Encoding") is { } coding && coding.TrimEnd().EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
            {
                var (chunked, end) = await ReadChunkedAsync(headEnd, cancellationToken).ConfigureAwait(false);
                return (chunked, "chunked", end);
            }

            if (head.Header("Content-Length") is { } lengthText)
            {
                if (!long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > maxBytes)
                    throw new InvalidDataException($"Unusable Content-Length: '{lengthText}'.");
                while (_raw.Length - headEnd < length)
                    if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                        throw new InvalidDataException($"The server closed the connection after {_raw.Length - headEnd} of {length} body bytes.");
                return (_raw.GetBuffer().AsSpan(headEnd, (int)length).ToArray(), "Content-Length", headEnd + (int)length);
            }

            while (await FillAsync(cancellationToken).ConfigureAwait(false)) { }
            return (_raw.GetBuffer().AsSpan(headEnd, (int)_raw.Length - headEnd).ToArray(), "until close", (int)_raw.Length);
        }

        /// <summary>Chunked body: "size-in-hex\r\n", that many bytes, "\r\n", …, "0\r\n", trailers, "\r\n".</summary>
        private async Task<(byte[] Body, int End)> ReadChunkedAsync(int position, CancellationToken cancellationToken)
        {
            var body = new MemoryStream();
            while (true)
            {
                var line = await ReadLineAsync(position, cancellationToken).ConfigureAwait(false);
                var sizeText = Encoding.ASCII.GetString(_raw.GetBuffer(), position, line.End - position).Split(';')[0].Trim();
                position = line.Next;
                if (!long.TryParse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0 || body.Length + size > maxBytes)
                    throw new InvalidDataException($"Bad chunk size '{sizeText}'.");
                if (size == 0)
                {
                    // Trailer lines up to an empty one.
                    while (true)
                    {
                        line = await ReadLineAsync(position, cancellationToken).ConfigureAwait(false);
                        var empty = line.End == position;
                        position = line.Next;
                        if (empty) return (body.ToArray(), position);
                    }
                }
                while (_raw.Length < position + size + 2)
                    if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                        throw new InvalidDataException("The server closed the connection in the middle of a chunk.");
                body.Write(_raw.GetBuffer(), position, (int)size);
                position += (int)size;
                var crlf = _raw.GetBuffer().AsSpan(position, 2);
                if (crlf[0] == '\r' && crlf[1] == '\n') position += 2;
                else if (crlf[0] == '\n') position += 1;
                else throw new InvalidDataException("A chunk does not end with CRLF.");
            }
        }

        /// <summary>The next line from <paramref name="position"/>: where its text ends and the next line starts.</summary>
        private async Task<(int End, int Next)> ReadLineAsync(int position, CancellationToken cancellationToken)
        {
            while (true)
            {
                var lf = _raw.GetBuffer().AsSpan(position, (int)_raw.Length - position).IndexOf((byte)'\n');
                if (lf >= 0)
                {
                    var end = position + lf;
                    return (end > position && _raw.GetBuffer()[end - 1] == '\r' ? end - 1 : end, end + 1);
                }
                if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                    throw new InvalidDataException("The server closed the connection in the middle of the chunked body.");
            }
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_closed) return false;
            var read = await stream.ReadAsync(_chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _closed = true;
                return false;
            }
            if (_raw.Length + read > maxBytes + 64 * 1024) throw new InvalidDataException($"Response larger than {maxBytes} bytes.");
            _raw.Write(_chunk, 0, read);
            return true;
        }

        private static Head ParseHead(ReadOnlySpan<byte> bytes)
        {
            var lines = Encoding.Latin1.GetString(bytes).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            var statusLine = lines[0].Split(' ', 3);
            if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/", StringComparison.Ordinal)
                || !int.TryParse(statusLine[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || statusLine[1].Length != 3)
                throw new InvalidDataException($"Not an HTTP status line: '{lines[0]}'.");
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var line in lines.Skip(1))
            {
                if (line.Length == 0) break;
                var colon = line.IndexOf(':');
                if (colon <= 0) throw new InvalidDataException($"Not a header line: '{line}'.");
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
            return new Head(statusLine[0], status, statusLine.Length > 2 ? statusLine[2] : "", headers);
        }
    }

    private sealed record Head(string Version, int Status, string Reason, List<KeyValuePair<string, string>> Headers)
    {
        public string? Header(string name) => Headers.LastOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    }
}

/// <summary>A response as read off the wire (see <see cref="HttpExchange"/>); <see cref="Leftover"/>: bytes after it.</summary>
internal sealed record ParsedResponse(string Version, int Status, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body, string Framing, byte[] Raw, int HeadLength, bool ServerClosed, byte[] Leftover);

/// <summary>
/// One TCP connection for several requests in a row (keep-alive): each <see cref="SendAsync"/> writes a request
/// and reads its response. <see cref="HttpRawClient"/> uses one per request.
/// </summary>
public sealed class HttpRawConnection : IAsyncDisposable, IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly Stopwatch _clock;
    private readonly TimeSpan _connectTime;
    private byte[] _leftover = [];
    private bool _used;

    private HttpRawConnection(string host, int port, TcpClient tcp, Stopwatch clock)
    {
        Host = host;
        Port = port;
        _tcp = tcp;
        _stream = tcp.GetStream();
        _clock = clock;
        _connectTime = clock.Elapsed;
    }

    public string Host { get; }
    public int Port { get; }
    /// <summary>Our side of the connection ("127.0.0.1:50312"): the server's access log shows it as the client.</summary>
    public string LocalEndPoint => _tcp.Client.LocalEndPoint is IPEndPoint local
        ? new IPEndPoint(local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address, local.Port).ToString()
        : "?";
    /// <summary>True once the server closed the connection.</summary>
    public bool ServerClosed { get; private set; }

    public static async Task<HttpRawConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            return new HttpRawConnection(host, port, tcp, clock);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>GETs a path on this connection (asking to keep it open unless <paramref name="options"/> says Close).</summary>
    public Task<HttpExchange> GetAsync(string path, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions { Close = false };
        return SendAsync(HttpRawClient.BuildRequest(Host, Port, path, options), options, cancellationToken);
    }

    /// <summary>Writes the request bytes as given and reads one response, within <see cref="HttpRawRequestOptions.Timeout"/>.</summary>
    public async Task<HttpExchange> SendAsync(byte[] request, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        try
        {
            return await ExchangeAsync(request, options, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No complete response from {Host}:{Port} within {options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    private async Task<HttpExchange> ExchangeAsync(byte[] request, HttpRawRequestOptions options, CancellationToken cancellationToken)
    {
        var started = _clock.Elapsed;
        if (options.SendDuration > TimeSpan.Zero && request.Length > 1)
        {
            // Up to 20 pieces, one at each step of the duration; the last piece goes at its end.
            var pieces = Math.Min(20, request.Length);
            for (var i = 0; i < pieces; i++)
            {
                var from = request.Length * i / pieces;
                var to = request.Length * (i + 1) / pieces;
                await _stream.WriteAsync(request.AsMemory(from, to - from), cancellationToken).ConfigureAwait(false);
                if (i < pieces - 1) await Task.Delay(options.SendDuration / (pieces - 1), cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await _stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        }
        var reader = new HttpRawClient.ResponseReader(_stream, options.MaxResponseBytes, request.AsSpan().StartsWith("HEAD "u8), _leftover);
        var response = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        _leftover = response.Leftover;
        ServerClosed = response.ServerClosed;
        // The first exchange on a connection includes connecting; later ones start when their request is sent.
        var first = !_used;
        _used = true;
        return new HttpExchange(Host, Port, request, response, first ? _connectTime : TimeSpan.Zero, _clock.Elapsed - (first ? TimeSpan.Zero : started));
    }

    public void Dispose() => _tcp.Dispose();

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}

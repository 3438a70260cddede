using System.Diagnostics;
using System.Globalization;
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
    /// <summary>Whole exchange: connect, send, receive.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A slow client: send the request line, wait this long, then send the headers.</summary>
    public TimeSpan PauseMidRequest { get; init; }
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
    /// response. <paramref name="options"/> gives the timeout and whether the request was a HEAD.
    /// </summary>
    public static async Task<HttpExchange> SendAsync(string host, int port, byte[] request, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        var clock = Stopwatch.StartNew();
        using var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var connected = clock.Elapsed;
            if (options.PauseMidRequest > TimeSpan.Zero && Array.IndexOf(request, (byte)'\n') is var lineEnd and >= 0)
            {
                await stream.WriteAsync(request.AsMemory(0, lineEnd + 1), deadline.Token).ConfigureAwait(false);
                await Task.Delay(options.PauseMidRequest, deadline.Token).ConfigureAwait(false);
                await stream.WriteAsync(request.AsMemory(lineEnd + 1), deadline.Token).ConfigureAwait(false);
            }
            else
            {
                await stream.WriteAsync(request, deadline.Token).ConfigureAwait(false);
            }
            var headRequest = request.AsSpan().StartsWith("HEAD "u8);
            var reader = new ResponseReader(stream, options.MaxResponseBytes, headRequest);
            var response = await reader.ReadAsync(deadline.Token).ConfigureAwait(false);
            return new HttpExchange(host, port, request, response, connected, clock.Elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No complete response from {host}:{port} within {options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Reads one response from a stream, keeping the raw bytes, and finds where it ends.</summary>
    private sealed class ResponseReader(Stream stream, long maxBytes, bool headRequest)
    {
        private readonly MemoryStream _raw = new();
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
                var (body, framing) = await ReadBodyAsync(head, headEnd, cancellationToken).ConfigureAwait(false);
                return new ParsedResponse(head.Version, head.Status, head.Reason, head.Headers, body, framing, _raw.ToArray(), headEnd, _closed);
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

        private async Task<(byte[] Body, string Framing)> ReadBodyAsync(Head head, int headEnd, CancellationToken cancellationToken)
        {
            if (headRequest || head.Status is 204 or 304)
                return ([], "no body (" + (headRequest ? "HEAD" : head.Status.ToString(CultureInfo.InvariantCulture)) + ")");

            if (head.Header("Transfer-Encoding") is { } coding && coding.TrimEnd().EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
                return (await ReadChunkedAsync(headEnd, cancellationToken).ConfigureAwait(false), "chunked");

            if (head.Header("Content-Length") is { } lengthText)
            {
                if (!long.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > maxBytes)
                    throw new InvalidDataException($"Unusable Content-Length: '{lengthText}'.");
                while (_raw.Length - headEnd < length)
                    if (!await FillAsync(cancellationToken).ConfigureAwait(false))
                        throw new InvalidDataException($"The server closed the connection after {_raw.Length - headEnd} of {length} body bytes.");
                return (_raw.GetBuffer().AsSpan(headEnd, (int)length).ToArray(), "Content-Length");
            }

            while (await FillAsync(cancellationToken).ConfigureAwait(false)) { }
            return (_raw.GetBuffer().AsSpan(headEnd, (int)_raw.Length - headEnd).ToArray(), "until close");
        }

        /// <summary>Chunked body: "size-in-hex\r\n", that many bytes, "\r\n", …, "0\r\n", trailers, "\r\n".</summary>
        private async Task<byte[]> ReadChunkedAsync(int position, CancellationToken cancellationToken)
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
                        if (empty) return body.ToArray();
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

/// <summary>A response as read off the wire (see <see cref="HttpExchange"/>).</summary>
internal sealed record ParsedResponse(string Version, int Status, string Reason, IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body, string Framing, byte[] Raw, int HeadLength, bool ServerClosed);

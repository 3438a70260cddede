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
    /// <summary>Largest body kept in memory (a larger one is <see cref="HttpClientFailure.TooLarge"/>); no limit with <see cref="BodyDestination"/>.</summary>
    public long MaxResponseBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>
    /// Where the body goes as it arrives (a file, to save one of any size): it is then not kept in memory
    /// (<see cref="HttpExchange.Body"/> is empty, <see cref="HttpExchange.BodyLength"/> counts it). Null: kept.
    /// </summary>
    public Stream? BodyDestination { get; init; }
}

/// <summary>
/// The lab's optional client: HTTP over a plain TCP socket, no HTTP library. Sends one request, reads the
/// response the way HTTP/1.1 says it ends (Content-Length, chunked, or the server closing), and keeps every
/// byte sent and received so the exchange can be shown as it was on the wire.
/// <code>var exchange = await HttpRawClient.GetAsync("localhost", 6789, "HelloWorld.html");</code>
/// No complete, well-formed response within the timeout is an <see cref="HttpClientException"/> that carries what was
/// sent and what did arrive; a connection that cannot be made at all is the system's SocketException.
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
        HttpRawConnection connection;
        try
        {
            connection = await HttpRawConnection.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpClientException(HttpClientFailure.TimedOut, $"No connection to {host}:{port} within {options.Timeout.TotalSeconds:0.#} s.",
                host, port, request, [], null);
        }
        await using (connection.ConfigureAwait(false))
            return await connection.ExchangeAsync(request, options, deadline.Token, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// One TCP connection for several requests in a row (keep-alive): each <see cref="SendAsync"/> writes a request
/// and reads its response. <see cref="HttpRawClient"/> uses one per request.
/// </summary>
public sealed class HttpRawConnection : IAsyncDisposable, IDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly Stopwatch _clock;
    private readonly TimeSpan _connectTime;
    private byte[] _leftover = [];
    private bool _used;

    private HttpRawConnection(string host, int port, TcpClient tcp, Stopwatch clock)
    {
        Host = host;
        Port = port;
        _tcp = tcp;
        _clock = clock;
        _connectTime = clock.Elapsed;
        Tcp = new TcpConversation(clock, LocalEndPoint, Shown(tcp.Client.RemoteEndPoint));
        Tcp.Record(TcpStep.Connected);
        _stream = new RecordingStream(tcp.GetStream(), Tcp);
    }

    public string Host { get; }
    public int Port { get; }
    /// <summary>Our side of the connection ("127.0.0.1:50312"): the server's access log shows it as the client.</summary>
    public string LocalEndPoint => Shown(_tcp.Client.LocalEndPoint);

    /// <summary>"address:port", an IPv4 address written as such (not as ::ffff:127.0.0.1).</summary>
    private static string Shown(EndPoint? endPoint) => endPoint is IPEndPoint ip
        ? new IPEndPoint(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address, ip.Port).ToString()
        : "?";
    /// <summary>The TCP connection as this client's socket calls reported it: handshake, sends, recvs, FINs.</summary>
    public TcpConversation Tcp { get; }
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
    /// <exception cref="HttpClientException">No complete, well-formed response (it carries what did arrive).</exception>
    public async Task<HttpExchange> SendAsync(byte[] request, HttpRawRequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new HttpRawRequestOptions();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        return await ExchangeAsync(request, options, deadline.Token, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One request and its response, until <paramref name="deadline"/>; every failure but the caller's cancelling becomes <see cref="HttpClientException"/>.</summary>
    internal async Task<HttpExchange> ExchangeAsync(byte[] request, HttpRawRequestOptions options, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var started = _clock.Elapsed;
        var reader = new HttpResponseReader(_stream, options.MaxResponseBytes, request.AsSpan().StartsWith("HEAD "u8), _leftover, options.BodyDestination);
        ParsedResponse response;
        try
        {
            await WriteRequestAsync(request, options, deadline).ConfigureAwait(false);
            response = await reader.ReadAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failure(HttpClientFailure.TimedOut, $"No complete response from {Host}:{Port} within {options.Timeout.TotalSeconds:0.#} s.", e);
        }
        catch (HttpResponseReader.BrokenResponse e)
        {
            throw Failure(e.Failure, e.Message, e);
        }
        catch (IOException e)
        {
            var received = reader.Received.Length;
            throw Failure(received == 0 ? HttpClientFailure.ClosedWithoutAnswer : HttpClientFailure.Truncated,
                $"The connection to {Host}:{Port} was reset {(received == 0 ? "before any answer" : $"after {received} bytes of the response")}.", e);
        }
        _leftover = response.Leftover;
        ServerClosed = response.ServerClosed || FinArrived();
        // The first exchange on a connection includes connecting; later ones start when their request is sent.
        var first = !_used;
        _used = true;
        return new HttpExchange(Host, Port, request, response, first ? _connectTime : TimeSpan.Zero, _clock.Elapsed - (first ? TimeSpan.Zero : started), Tcp);

        HttpClientException Failure(HttpClientFailure failure, string message, Exception inner) =>
            new(failure, message, Host, Port, request, reader.Received, reader.Status, inner);
    }

    /// <summary>
    /// The response ended by its length, so nobody read the end of the stream; a FIN already here (the server closed
    /// right after its answer) shows as a socket that is readable with nothing to read. Looks without waiting or reading.
    /// </summary>
    private bool FinArrived()
    {
        try
        {
            if (_leftover.Length > 0 || !_tcp.Client.Poll(0, SelectMode.SelectRead) || _tcp.Client.Available != 0) return false;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
        Tcp.Record(TcpStep.PeerClosed);
        return true;
    }

    private async Task WriteRequestAsync(byte[] request, HttpRawRequestOptions options, CancellationToken cancellationToken)
    {
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
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _tcp.Dispose();
        Tcp.Record(TcpStep.Closed);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private bool _disposed;
}

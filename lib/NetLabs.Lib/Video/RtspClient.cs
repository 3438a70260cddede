using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>An RTSP request that failed: the server's reply (null when none came) and the dialogue so far.</summary>
public sealed class RtspException(string message, RtspMessage? reply, RtspTranscript transcript, Exception? inner = null)
    : NetLabsException(message, inner)
{
    public RtspMessage? Reply { get; } = reply;
    public int StatusCode => Reply?.StatusCode ?? 0;
    public RtspTranscript Transcript { get; } = transcript;
}

/// <summary>The RTSP dialogue of a client, request and reply, in order; shown in the notebook.</summary>
public sealed class RtspTranscript : IHtmlDisplay
{
    private readonly List<(bool FromClient, string Text)> _lines = [];
    private readonly object _lock = new();

    public IReadOnlyList<(bool FromClient, string Text)> Messages { get { lock (_lock) return [.. _lines]; } }

    internal void Add(bool fromClient, RtspMessage message)
    {
        lock (_lock) _lines.Add((fromClient, message.ToString().TrimEnd()));
    }

    public override string ToString() =>
        string.Join("\n\n", Messages.Select(m => string.Join("\n", m.Text.Split("\r\n").Select(l => (m.FromClient ? "C: " : "S: ") + l))));

    public string ToHtml()
    {
        var html = new StringBuilder("<div class=\"netlabs-transcript\" style=\"font-family:monospace;white-space:pre-wrap\">");
        foreach (var (fromClient, text) in Messages)
            html.Append(CultureInfo.InvariantCulture, $"<div style=\"margin:4px 0;padding:2px 6px;border-left:3px solid {(fromClient ? "#1f77b4" : "#2ca02c")}\"><b>{(fromClient ? "C" : "S")}:</b> ")
                .Append(WebUtility.HtmlEncode(text)).Append("</div>");
        return html.Append("</div>").ToString();
    }
}

/// <summary>How long the RTSP client waits, and how much it reads.</summary>
public sealed record RtspClientOptions
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long each request waits for its reply.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public int MaxReplyHeaderBytes { get; init; } = 16 * 1024;
    public int MaxReplyBodyBytes { get; init; } = 64 * 1024;
    /// <summary>The student's request writing (null = the library's); see <see cref="RtspRequestWriter"/>.</summary>
    public RtspRequestWriter? RequestWriter { get; init; }
    /// <summary>The student's reply reading (null = the library's); see <see cref="RtspReplyReader"/>.</summary>
    public RtspReplyReader? ReplyReader { get; init; }
}

/// <summary>
/// The client's RTSP side (RFC 2326), over one TCP connection: every request carries the next <see cref="CSeq"/>,
/// and once SETUP has answered, the <see cref="Session"/> it gave. A reply whose CSeq is not the request's, or
/// whose status is not 2xx, is an <see cref="RtspException"/> carrying the reply and the transcript.
/// </summary>
public sealed class RtspClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly RtspMessageReader _reader;
    private readonly RtspClientOptions _options;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private int _rtpPort;

    private RtspClient(Uri url, TcpClient tcp, RtspClientOptions options)
    {
        Url = url;
        _tcp = tcp;
        _options = options;
        _stream = tcp.GetStream();
        _reader = new RtspMessageReader(_stream, options.MaxReplyHeaderBytes, options.MaxReplyBodyBytes);
    }

    /// <summary>The stream's URL (<c>rtsp://host:port/name</c>).</summary>
    public Uri Url { get; }
    /// <summary>The URL SETUP, PLAY, PAUSE and TEARDOWN name: the SDP's control URL once DESCRIBE gave one.</summary>
    public string ControlUrl { get; private set; } = "";
    /// <summary>The CSeq of the latest request (1 for the first).</summary>
    public int CSeq { get; private set; }
    /// <summary>The session id SETUP returned; null before.</summary>
    public string? Session { get; private set; }
    public RtspTranscript Transcript { get; } = new();
    /// <summary>The server's RTP port from SETUP's Transport reply (0 until then).</summary>
    public int ServerRtpPort { get; private set; }

    /// <summary>Connects to the server named in <paramref name="url"/> (<c>rtsp://host[:port]/name</c>, default port 554).</summary>
    public static async Task<RtspClient> ConnectAsync(string url, RtspClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RtspClientOptions();
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "rtsp")
            throw new RtspException($"\"{url}\" is not an RTSP URL: write rtsp://HOST:PORT/NAME.", null, new RtspTranscript());
        var port = uri.IsDefaultPort || uri.Port < 0 ? 554 : uri.Port;
        var tcp = new TcpClient(uri.HostNameType == UriHostNameType.IPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        try
        {
            await tcp.ConnectAsync(uri.IdnHost, port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            tcp.Dispose();
            var why = e is SocketException s ? s.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "nothing listens there (is the server started, on that port?)",
                SocketError.HostNotFound or SocketError.NoData => "the host name does not resolve",
                _ => s.Message,
            } : $"no answer within {options.ConnectTimeout.TotalSeconds:0.#} s";
            throw new RtspException($"Cannot connect to the RTSP server {uri.Host}:{port}: {why}.", null, new RtspTranscript(), e);
        }
        return new RtspClient(uri, tcp, options) { ControlUrl = uri.ToString() };
    }

    public Task<RtspMessage> OptionsAsync(CancellationToken cancellationToken = default) =>
        RequestAsync("OPTIONS", Url.ToString(), [], cancellationToken);

    /// <summary>DESCRIBE: the SDP; also sets <see cref="ControlUrl"/> from its <c>a=control</c> line.</summary>
    public async Task<string> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync("DESCRIBE", Url.ToString(), [("Accept", "application/sdp")], cancellationToken).ConfigureAwait(false);
        var contentBase = reply["Content-Base"] ?? reply["Content-Location"] ?? Url.ToString().TrimEnd('/') + "/";
        AggregateUrl = contentBase.TrimEnd('/');
        var control = reply.Body.Split('\n').Select(l => l.Trim())
            .SkipWhile(l => !l.StartsWith("m=video", StringComparison.Ordinal))
            .FirstOrDefault(l => l.StartsWith("a=control:", StringComparison.Ordinal))?["a=control:".Length..];
        if (control is not null && control != "*")
            ControlUrl = Uri.TryCreate(control, UriKind.Absolute, out var absolute) && absolute.Scheme == "rtsp"
                ? control
                : new Uri(new Uri(contentBase.EndsWith('/') ? contentBase : contentBase + "/"), control).ToString();
        return reply.Body;
    }

    /// <summary>SETUP: asks for RTP over UDP to <paramref name="clientRtpPort"/>; remembers the session id.</summary>
    public async Task<RtspMessage> SetupAsync(int clientRtpPort, CancellationToken cancellationToken = default)
    {
        _rtpPort = clientRtpPort;
        var reply = await RequestAsync("SETUP", ControlUrl,
            [("Transport", $"RTP/AVP;unicast;client_port={clientRtpPort}-{clientRtpPort + 1}")], cancellationToken).ConfigureAwait(false);
        Session ??= reply.Session ?? throw Failure("The SETUP reply carries no Session header", reply);
        var serverPort = (reply["Transport"] ?? "").Split(';').Select(f => f.Trim())
            .FirstOrDefault(f => f.StartsWith("server_port=", StringComparison.OrdinalIgnoreCase))?["server_port=".Length..].Split('-')[0];
        ServerRtpPort = int.TryParse(serverPort, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;
        return reply;
    }

    public Task<RtspMessage> PlayAsync(CancellationToken cancellationToken = default) =>
        RequestAsync("PLAY", SessionUrl, [("Range", "npt=0.000-")], cancellationToken);

    public Task<RtspMessage> PauseAsync(CancellationToken cancellationToken = default) =>
        RequestAsync("PAUSE", SessionUrl, [], cancellationToken);

    /// <summary>
    /// TEARDOWN: ends the session (the id is forgotten). Returns the reply, or null when the server closed the
    /// connection instead of answering (VLC does): the session is over either way.
    /// </summary>
    public async Task<RtspMessage?> TeardownAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await RequestAsync("TEARDOWN", SessionUrl, [], cancellationToken).ConfigureAwait(false);
        }
        catch (RtspException e) when (e.Reply is null && e.InnerException is null or IOException or SocketException)
        {
            return null;
        }
        finally
        {
            Session = null;
        }
    }

    /// <summary>
    /// The presentation's URL (DESCRIBE's Content-Base): PLAY, PAUSE and TEARDOWN name it, as RFC 2326 §C.1.1 has
    /// aggregate control do (VLC closes the connection on a TEARDOWN of the track alone). Without DESCRIBE, the track.
    /// </summary>
    public string? AggregateUrl { get; private set; }

    private string SessionUrl => AggregateUrl ?? ControlUrl;

    /// <summary>Sends one request with the next CSeq (and the session, once there is one) and reads its reply.</summary>
    public async Task<RtspMessage> RequestAsync(string method, string url, IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = new RtspClientState { CSeq = CSeq, Session = Session, RtpPort = _rtpPort };
            RtspMessage request;
            if (_options.RequestWriter is { } writer)
            {
                request = ParseOwnRequest(writer(method, url, state));
                CSeq = state.CSeq;
            }
            else
            {
                CSeq++;
                request = RtspMessage.Request(method, url, CSeq, Session, [.. headers, ("User-Agent", "NetLabs")]);
            }
            var cseq = CSeq;
            Transcript.Add(true, request);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ReplyTimeout);
            RtspMessage? reply;
            try
            {
                await _stream.WriteAsync(request.ToBytes(), timeout.Token).ConfigureAwait(false);
                reply = await _reader.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new RtspException($"The RTSP server sent no reply to {method} within {_options.ReplyTimeout.TotalSeconds:0.#} s.", null, Transcript, e);
            }
            catch (Exception e) when (e is IOException or SocketException or RtspProtocolException)
            {
                throw new RtspException($"The RTSP connection failed during {method}: {e.Message}", null, Transcript, e);
            }
            if (reply is null) throw new RtspException($"The RTSP server closed the connection instead of answering {method}.", null, Transcript);
            Transcript.Add(false, reply);
            if (_options.ReplyReader is { } reader)
            {
                state.LastStatus = reply.StatusCode;
                if (!reader(reply.ToString(), state)) throw Failure($"The reply to {method} was not accepted by the reply reader", reply);
                Session = state.Session;
                return reply;
            }
            if (!reply.IsResponse) throw Failure($"The server answered {method} with something that is not an RTSP reply", reply);
            if (reply.CSeq != cseq) throw Failure($"The reply to {method} carries CSeq {reply["CSeq"] ?? "(none)"}, not {cseq}", reply);
            if (reply.StatusCode is < 200 or >= 300) throw Failure($"The server refused {method}", reply);
            return reply;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    // The request text a student's writer produced, read back for the wire and the transcript.
    private RtspMessage ParseOwnRequest(string text)
    {
        try
        {
            using var bytes = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text.EndsWith("\n\n", StringComparison.Ordinal) || text.EndsWith("\r\n\r\n", StringComparison.Ordinal) ? text : text + "\r\n\r\n"));
            return new RtspMessageReader(bytes).ReadAsync().GetAwaiter().GetResult()
                ?? throw new RtspException("The request writer returned an empty request.", null, Transcript);
        }
        catch (RtspProtocolException e)
        {
            throw new RtspException($"The request writer's text is not an RTSP request: {e.Message}", null, Transcript, e);
        }
    }

    private RtspException Failure(string what, RtspMessage reply) =>
        new($"{what}: {reply.StartLine}{(reply.Body.Length > 0 ? " — " + reply.Body.Trim().TrimEnd('.') : "")}.", reply, Transcript);

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _tcp.Dispose();
        _oneAtATime.Dispose();
    }
}

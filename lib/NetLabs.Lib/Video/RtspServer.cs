using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>One line of the video server's log: a request and its answer, or an event of a session's stream.</summary>
public sealed record RtspServerLogEntry(TimeSpan At, IPEndPoint Client, string Request, int Status, string? Session)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{At.TotalSeconds,9:F3}s {Client} {Request} -> {(Status == 0 ? "-" : Status.ToString(CultureInfo.InvariantCulture))}{(Session is null ? "" : " session " + Session)}");
}

/// <summary>Running totals of the video server.</summary>
public sealed record RtspServerCounters(long Connections, long Requests, long ErrorReplies, long SessionsOpened, int ActiveSessions,
    long PacketsSent, long PacketsDropped, long BytesSent);

/// <summary>
/// The lab's video server: RTSP over TCP (RFC 2326: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN) controls
/// sessions, each streaming the clip as RTP/JPEG over UDP (RFC 3550, RFC 2435) to the client's port. A session
/// lives as long as the connection that set it up: a client that vanishes without TEARDOWN (its connection closes
/// or stays silent for <see cref="RtspServerOptions.SessionTimeout"/>) has its stream stopped and its session removed.
/// </summary>
public sealed class RtspServer : LabServer<RtspServerLogEntry, RtspServerCounters>
{
    private readonly Socket _listener;
    private readonly Socket _rtp, _rtcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, RtspSession> _sessions = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _acceptLoop;
    private readonly object _sessionLock = new();
    private long _connectionCount, _requests, _errorReplies, _sessionsOpened, _packetsSent, _packetsDropped, _bytesSent;
    private int _sessionOrdinal;

    private RtspServer(RtspServerOptions options, Socket listener, Socket rtp, Socket rtcp)
        : base((IPEndPoint)listener.LocalEndPoint!, options.LogCapacity, TimeSpan.FromSeconds(2))
    {
        Options = options;
        Clip = options.Clip!;
        _listener = listener;
        _rtp = rtp;
        _rtcp = rtcp;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Binds the RTSP port and an RTP/RTCP port pair and starts serving; <see cref="ServerStartException"/> says what to fix.</summary>
    public static RtspServer Start(RtspServerOptions options)
    {
        options.Validate();
        var listener = Listener.BindTcp(options.Address, options.Port, "the video server", RtspServerOptions.LabPort);
        try
        {
            var (rtp, rtcp) = BindRtpPair(options.Address);
            return new RtspServer(options, listener, rtp, rtcp);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    // RTP on an even port, RTCP on the next one (RFC 3550 §11): clients send their receiver reports there.
    private static (Socket Rtp, Socket Rtcp) BindRtpPair(IPAddress address)
    {
        for (var attempt = 0; ; attempt++)
        {
            var rtp = Listener.BindUdp(address, 0, "the video server's RTP sender", RtspServerOptions.LabPort);
            var port = ((IPEndPoint)rtp.LocalEndPoint!).Port;
            if (port % 2 == 0 && port < 65535)
            {
                try { return (rtp, Listener.BindUdp(address, port + 1, "the video server's RTCP port", RtspServerOptions.LabPort)); }
                catch (ServerStartException) when (attempt < 20) { }
            }
            rtp.Dispose();
            if (attempt >= 20) throw new ServerStartException($"No free UDP port pair for RTP and RTCP on {address}.");
        }
    }

    public RtspServerOptions Options { get; }
    public MjpegClip Clip { get; }
    /// <summary>The UDP port RTP leaves from (RTCP is the next one).</summary>
    public int RtpPort => ((IPEndPoint)_rtp.LocalEndPoint!).Port;
    /// <summary>The URL clients open: <c>rtsp://127.0.0.1:PORT/NAME</c>.</summary>
    public string Url => $"rtsp://{UrlHost(EndPoint.Address)}:{Port}/{Uri.EscapeDataString(Clip.Name)}";

    public override RtspServerCounters Counters => new(Interlocked.Read(ref _connectionCount), Interlocked.Read(ref _requests),
        Interlocked.Read(ref _errorReplies), Interlocked.Read(ref _sessionsOpened), _sessions.Count,
        Interlocked.Read(ref _packetsSent), Interlocked.Read(ref _packetsDropped), Interlocked.Read(ref _bytesSent));

    private static string UrlHost(IPAddress address) =>
        address.Equals(IPAddress.Any) ? "127.0.0.1" : address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            Interlocked.Increment(ref _connectionCount);
            if (_connections.Count >= Options.MaxConnections)
            {
                var refusal = RtspMessage.Response(503, null, [("Retry-After", "5")]).ToBytes();
                try { socket.Send(refusal); socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
                socket.Dispose();
                continue;
            }
            var connection = Task.Run(() => ServeConnectionAsync(socket));
            _connections[connection] = true;
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        var client = (IPEndPoint)socket.RemoteEndPoint!;
        var owned = new List<RtspSession>();
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = new RtspMessageReader(stream, Options.MaxRequestHeaderBytes);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                idle.CancelAfter(Options.SessionTimeout);
                RtspMessage? request;
                try { request = await reader.ReadAsync(idle.Token).ConfigureAwait(false); }
                catch (RtspProtocolException e)
                {
                    await ReplyAsync(stream, client, "(bad request)", RtspMessage.Response(400, null, body: e.Message + "\r\n"), null).ConfigureAwait(false);
                    return;
                }
                if (request is null) return; // closed by the client
                Interlocked.Increment(ref _requests);
                var (reply, session) = Handle(request, client, owned);
                await ReplyAsync(stream, client, $"{request.Method} {request.Uri}", reply, session).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { } // idle for SessionTimeout, or the server stops
        catch (IOException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            // A client that vanished without TEARDOWN: its streams stop, its sessions go.
            foreach (var session in owned) await EndSessionAsync(session, client, "connection closed").ConfigureAwait(false);
            try { socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
        }
    }

    private async Task ReplyAsync(Stream stream, IPEndPoint client, string request, RtspMessage reply, string? session)
    {
        if (reply.StatusCode >= 400) Interlocked.Increment(ref _errorReplies);
        await stream.WriteAsync(reply.ToBytes(), _stop.Token).ConfigureAwait(false);
        LogEvent(client, request, reply.StatusCode, session);
    }

    private void LogEvent(IPEndPoint client, string what, int status, string? session)
    {
        if (IsLogging) Record(new RtspServerLogEntry(Stopwatch.GetElapsedTime(_started), client, what.Length > 200 ? what[..200] + "…" : what, status, session));
    }

    private (RtspMessage Reply, string? Session) Handle(RtspMessage request, IPEndPoint client, List<RtspSession> owned)
    {
        var cseq = request.CSeq;
        if (cseq is null) return (RtspMessage.Response(400, null, body: "Every RTSP request needs a CSeq header.\r\n"), null);
        var parts = request.StartLine.Split(' ');
        if (parts.Length != 3) return (RtspMessage.Response(400, cseq, body: "An RTSP request line is METHOD URL RTSP/1.0.\r\n"), null);
        if (parts[2] != "RTSP/1.0") return (RtspMessage.Response(505, cseq), null);
        var sessionId = request.Session;
        switch (request.Method)
        {
            case "OPTIONS":
                return (RtspMessage.Response(200, cseq, [("Public", "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER")]), sessionId);
            case "DESCRIBE":
                if (!NamesClip(request.Uri)) return (NotFound(cseq, request.Uri), null);
                var baseUrl = request.Uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase) ? request.Uri.TrimEnd('/') + "/" : Url + "/";
                return (RtspMessage.Response(200, cseq, [("Content-Base", baseUrl)], SessionDescription.For(Clip, EndPoint.Address), "application/sdp"), null);
            case "SETUP":
                return Setup(request, cseq.Value, client, owned);
            case "PLAY" or "PAUSE" or "TEARDOWN" or "GET_PARAMETER":
                if (sessionId is null)
                    return request.Method == "GET_PARAMETER"
                        ? (RtspMessage.Response(200, cseq), null)
                        : (RtspMessage.Response(455, cseq, body: $"{request.Method} needs a Session header: send SETUP first.\r\n"), null);
                if (!_sessions.TryGetValue(sessionId, out var session))
                    return (RtspMessage.Response(454, cseq, body: $"No session {sessionId} on this server (it ended or never existed).\r\n"), null);
                return (request.Method switch
                {
                    "PLAY" => Play(session, cseq.Value, client),
                    "PAUSE" => Pause(session, cseq.Value),
                    "TEARDOWN" => Teardown(session, cseq.Value, owned),
                    _ => RtspMessage.Response(200, cseq, [("Session", session.Id)]),
                }, session.Id);
            case "ANNOUNCE" or "RECORD" or "REDIRECT" or "SET_PARAMETER":
                return (RtspMessage.Response(405, cseq, [("Allow", "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER")]), sessionId);
            default:
                return (RtspMessage.Response(501, cseq), sessionId);
        }
    }

    private static RtspMessage NotFound(int? cseq, string uri) =>
        RtspMessage.Response(404, cseq, body: $"No stream at {uri}.\r\n");

    // rtsp://host:port/NAME, rtsp://host:port/NAME/trackID=0 (SDP's control URL), or the textbook's bare file name.
    private bool NamesClip(string uri)
    {
        var path = uri;
        if (uri.StartsWith("rtsp://", StringComparison.OrdinalIgnoreCase))
        {
            if (!System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed)) return false;
            path = System.Uri.UnescapeDataString(parsed.AbsolutePath);
        }
        path = path.Trim('/');
        if (path.EndsWith("/" + SessionDescription.TrackControl, StringComparison.Ordinal)) path = path[..^(SessionDescription.TrackControl.Length + 1)];
        return path == Clip.Name || Path.GetFileNameWithoutExtension(path) == Clip.Name;
    }

    private (RtspMessage, string?) Setup(RtspMessage request, int cseq, IPEndPoint client, List<RtspSession> owned)
    {
        if (!NamesClip(request.Uri)) return (NotFound(cseq, request.Uri), null);
        var transport = request["Transport"] ?? "";
        if (!TryClientPort(transport, out var rtpPort))
            return (RtspMessage.Response(461, cseq, body: "Only RTP over UDP is served: send Transport: RTP/AVP;unicast;client_port=N-N+1.\r\n"), null);
        var destination = new IPEndPoint(client.Address, rtpPort);
        RtspSession? session;
        if (request.Session is { } existing)
        {
            if (!_sessions.TryGetValue(existing, out session))
                return (RtspMessage.Response(454, cseq, body: $"No session {existing} on this server.\r\n"), null);
            if (!session.TryChangeDestination(destination))
                return (RtspMessage.Response(455, cseq, body: "The session is playing: PAUSE before changing its transport.\r\n"), session.Id);
        }
        else
        {
            lock (_sessionLock)
            {
                if (_sessions.Count >= Options.MaxSessions)
                    return (RtspMessage.Response(503, cseq, body: $"This server serves at most {Options.MaxSessions} sessions at once.\r\n"), null);
                if (_sessions.Values.Count(s => s.Client.Equals(client.Address)) >= Options.MaxSessionsPerClient)
                    return (RtspMessage.Response(503, cseq, body: $"At most {Options.MaxSessionsPerClient} sessions per client address.\r\n"), null);
                var ordinal = Interlocked.Increment(ref _sessionOrdinal);
                var random = Options.Seed is { } seed ? new Random(seed + ordinal) : new Random();
                session = new RtspSession(NewSessionId(), client.Address, destination,
                    new RtpStreamer(_rtp, Options, random, (sent, dropped, bytes) =>
                    {
                        if (sent != 0) Interlocked.Add(ref _packetsSent, sent);
                        if (dropped != 0) Interlocked.Add(ref _packetsDropped, dropped);
                        if (bytes != 0) Interlocked.Add(ref _bytesSent, bytes);
                    }));
                _sessions[session.Id] = session;
            }
            owned.Add(session);
            Interlocked.Increment(ref _sessionsOpened);
        }
        var serverPort = RtpPort;
        var reply = RtspMessage.Response(200, cseq,
        [
            ("Transport", $"RTP/AVP;unicast;client_port={rtpPort}-{rtpPort + 1};server_port={serverPort}-{serverPort + 1};ssrc={session.Streamer.Ssrc:X8}"),
            ("Session", $"{session.Id};timeout={(int)Options.SessionTimeout.TotalSeconds}"),
        ]);
        return (reply, session.Id);
    }

    private static string NewSessionId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    internal static bool TryClientPort(string transport, out int port)
    {
        port = 0;
        var fields = transport.Split(',')[0].Split(';', StringSplitOptions.TrimEntries);
        if (fields.Any(f => f.StartsWith("RTP/AVP/TCP", StringComparison.OrdinalIgnoreCase) || f.StartsWith("interleaved", StringComparison.OrdinalIgnoreCase)))
            return false;
        var clientPort = fields.FirstOrDefault(f => f.StartsWith("client_port", StringComparison.OrdinalIgnoreCase));
        if (clientPort is null || clientPort.IndexOf('=') is var eq && eq < 0) return false;
        var first = clientPort[(clientPort.IndexOf('=') + 1)..].Split('-')[0].Trim();
        return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
    }

    private RtspMessage Play(RtspSession session, int cseq, IPEndPoint client)
    {
        var (_, frame) = session.Play(_stop.Token, () => LogEvent(client, "(end of clip)", 0, session.Id));
        var streamer = session.Streamer;
        return RtspMessage.Response(200, cseq,
        [
            ("Session", session.Id),
            ("Range", string.Create(CultureInfo.InvariantCulture, $"npt={frame / Clip.FramesPerSecond:F3}-")),
            ("RTP-Info", $"url={Url}/{SessionDescription.TrackControl};seq={session.PlaySequence};rtptime={streamer.TimestampOf(frame)}"),
        ]);
    }

    private static RtspMessage Pause(RtspSession session, int cseq) =>
        session.Pause()
            ? RtspMessage.Response(200, cseq, [("Session", session.Id)])
            : RtspMessage.Response(455, cseq, body: "The session is not playing: PAUSE is valid only after PLAY.\r\n");

    private RtspMessage Teardown(RtspSession session, int cseq, List<RtspSession> owned)
    {
        session.Stop();
        _sessions.TryRemove(session.Id, out _);
        owned.Remove(session);
        return RtspMessage.Response(200, cseq, [("Session", session.Id)]);
    }

    private async Task EndSessionAsync(RtspSession session, IPEndPoint client, string why)
    {
        if (!_sessions.ContainsKey(session.Id)) return;
        await session.StopAsync().ConfigureAwait(false); // stopped first: a session counted as ended sends nothing more
        if (!_sessions.TryRemove(session.Id, out _)) return;
        LogEvent(client, $"({why}: session ended)", 0, session.Id);
    }

    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        _stop.Cancel();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAny(Task.WhenAll(_connections.Keys), Task.Delay(drain)).ConfigureAwait(false);
        foreach (var session in _sessions.Values) await session.StopAsync().ConfigureAwait(false);
        _sessions.Clear();
        _rtp.Dispose();
        _rtcp.Dispose();
        _stop.Dispose();
    }

    public HtmlTable LogTable(int last = 20) => new($"Video server {EndPoint}: last log entries", ["at (s)", "client", "request", "status", "session"],
        Log.TakeLast(last).Select(e => (IReadOnlyList<string>)
        [
            e.At.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture), e.Client.ToString(), e.Request,
            e.Status == 0 ? "" : e.Status.ToString(CultureInfo.InvariantCulture), e.Session ?? "",
        ]));

    public override string ToHtml()
    {
        var c = Counters;
        return new HtmlTable($"Video server {Url} ({Clip})", ["connections", "requests", "error replies", "sessions", "active", "RTP packets sent", "dropped", "bytes sent"],
            [[.. new[] { c.Connections, c.Requests, c.ErrorReplies, c.SessionsOpened, c.ActiveSessions, c.PacketsSent, c.PacketsDropped, c.BytesSent }
                .Select(v => v.ToString(CultureInfo.InvariantCulture))]]).ToHtml();
    }

    public override string ToString()
    {
        var c = Counters;
        return $"Video server {Url}: {c.SessionsOpened} sessions ({c.ActiveSessions} active), {c.PacketsSent} RTP packets sent, {c.PacketsDropped} dropped";
    }
}

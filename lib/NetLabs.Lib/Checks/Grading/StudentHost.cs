using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using NetLabs.Icmp;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Proxy;
using NetLabs.Video;
using NetLabs.Web;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The graded notebook's side of <c>netlabs notebooks check</c>. The checker replaces each check cell of the
/// notebook it grades with <c>await StudentHost.ServeAsync(HandleConnection)</c> (the functions of the cell's gap: one
/// overload per gap): instead of checking the student's functions here (in the kernel, where the student's own code
/// could forge any result), this offers them to the checker's judge process, which runs the check's battery against
/// them through <see cref="RemoteGap"/> and keeps the report card. The kernel only ever learns the card to show it.
/// </summary>
public static partial class StudentHost
{
    /// <summary>"127.0.0.1:port" of the judge's control socket, set by the checker for the graded kernel only.</summary>
    public const string GraderVariable = "NETLABS_GRADER";

    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Worker threads the graded kernel's pool makes at once, without waiting. A student's busy loop in a handler holds
    /// the pool thread it runs on for good (.NET cannot stop it), and a pool of a 2-core machine has 2 threads before it
    /// adds one at a time, each after half a second of no progress: every later check would wait for them, and a check
    /// that measures time would fail for a loop in another one. The grading kernel is a process of its own.
    /// </summary>
    private const int GradedMinWorkerThreads = 32;

    public static Task<string> ServeAsync(ConnectionHandler handler, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("handle-connection") { Web = handler }, cancellationToken);

    public static Task<string> ServeAsync(PingExchange exchange, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("send-one-ping") { Ping = exchange }, cancellationToken);

    public static Task<string> ServeAsync(SmtpClientDialogue transaction, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("smtp-dialogue") { Mail = transaction }, cancellationToken);

    public static Task<string> ServeAsync(ProxyClientHandler handler, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("handle-client") { Proxy = handler }, cancellationToken);

    public static Task<string> ServeAsync(Func<byte[], ushort> checksum, EchoRequestBuilder build, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("echo-request") { Checksum = checksum, EchoRequest = build }, cancellationToken);

    public static Task<string> ServeAsync(IcmpPacketParser parse, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("parse-echo-reply") { Parser = parse }, cancellationToken);

    public static Task<string> ServeAsync(TracerouteHopsLoop loop, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("traceroute-loop") { Traceroute = loop }, cancellationToken);

    public static Task<string> ServeAsync(RtpHeaderWriter writer, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("rtp-header") { RtpHeader = writer }, cancellationToken);

    public static Task<string> ServeAsync(RtspRequestWriter writer, RtspReplyReader reader, CancellationToken cancellationToken = default) =>
        ServeAsync(new GapOffer("rtsp-requests") { RtspRequest = writer, RtspReply = reader }, cancellationToken);

    private static Task<string> ServeAsync(GapOffer gap, CancellationToken cancellationToken)
    {
        var grader = Environment.GetEnvironmentVariable(GraderVariable);
        if (grader is null || !IPEndPoint.TryParse(grader, out var judge))
            return Task.FromResult($"This cell is the checker's: it runs only under `netlabs notebooks check` ({GraderVariable} is not set).");
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workers < GradedMinWorkerThreads) ThreadPool.SetMinThreads(GradedMinWorkerThreads, completionPorts);
        return ServeAsync(gap, judge, cancellationToken);
    }

    /// <summary>Offers a gap to the judge at <paramref name="judge"/> (the tests call this directly).</summary>
    internal static async Task<string> ServeAsync(GapOffer gap, IPEndPoint judge, CancellationToken cancellationToken)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var state = new HostState();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var calls = Task.Run(() => AcceptCallsAsync(listener, gap, state, stop.Token), CancellationToken.None);
        try
        {
            using var control = await GradingWire.ConnectAsync(judge, cancellationToken).ConfigureAwait(false);
            var stream = control.GetStream();
            await GradingWire.WriteAsync(stream, new JsonObject { ["port"] = ((IPEndPoint)listener.LocalEndpoint).Port, ["check"] = gap.Check }, cancellationToken).ConfigureAwait(false);
            // The judge answers once, when its battery is done, with the report card it keeps.
            var done = await GradingWire.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            return (string?)done?["card"] ?? "the checker went away without a report card";
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            listener.Stop();
            try { await calls.ConfigureAwait(false); } catch (OperationCanceledException) { }
            await state.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task AcceptCallsAsync(TcpListener listener, GapOffer gap, HostState state, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient call;
            try { call = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { return; }
            _ = Task.Run(() => AnswerAsync(call, gap, state, cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>
    /// One call of the judge: run the student's function once and send back what it returned or threw. Calls to code
    /// over values (hundreds in one check) follow one another on the same connection, each with its own time limit;
    /// any other call has its connection to itself.
    /// </summary>
    private static async Task AnswerAsync(TcpClient call, GapOffer gap, HostState state, CancellationToken cancellationToken)
    {
        using var _ = call;
        var stream = call.GetStream();
        try
        {
            for (var first = true; ; first = false)
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (first) limit.CancelAfter(CallLimit);
                var request = await GradingWire.ReadAsync(stream, limit.Token).ConfigureAwait(false);
                if (request is null) return;
                limit.CancelAfter(CallLimit);
                var kind = (string?)request["kind"];
                var pure = PureCall(gap, kind, request);
                JsonObject reply;
                try
                {
                    reply = pure is not null ? await Task.Run(pure, limit.Token).ConfigureAwait(false) : kind switch
                    {
                        "web" when gap.Web is { } web => WebServerFor(web, (string)request["root"]!, state.Servers),
                        "ping" when gap.Ping is { } ping => await PingAsync(ping, request, state.Sockets, GradingWire.CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                        "mail" when gap.Mail is { } mail => await MailAsync(mail, request, GradingWire.CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                        "proxy" when gap.Proxy is { } proxy => await ProxyAsync(proxy, request, state.Caches, GradingWire.CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                        "traceroute" when gap.Traceroute is { } loop => await TracerouteAsync(loop, request, GradingWire.CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                        _ => GradingWire.Error(new InvalidOperationException($"this notebook's gap cannot answer a '{kind}' call")),
                    };
                }
                catch (Exception e)
                {
                    reply = GradingWire.Error(e);
                }
                await GradingWire.WriteAsync(stream, reply, limit.Token).ConfigureAwait(false);
                if (pure is null) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException or System.Text.Json.JsonException)
        {
            // The judge hung up or gave up: nothing to answer.
        }
    }

    /// <summary>
    /// The web gap is a server's handler: one concurrent server per site the judge copied for us, with the student's
    /// handler; the judge relays its clients' bytes to it. (Concurrent: the judge's own server decides the mode.)
    /// </summary>
    private static JsonObject WebServerFor(ConnectionHandler handler, string root, ConcurrentDictionary<string, WebServer> servers)
    {
        var server = servers.GetOrAdd(root, r => WebServer.Start(new WebServerOptions
        {
            Root = r, Mode = WebServerMode.Concurrent, Handler = handler, ShutdownTimeout = TimeSpan.FromSeconds(1), HeaderTimeout = TimeSpan.FromSeconds(4),
        }));
        return new JsonObject { ["port"] = server.Port };
    }

    /// <summary>
    /// One ping of a run of the judge's loop, on the run's own socket here (made at its first ping, like the library's
    /// loop does for the lab): the student's function gets it, as in the notebook. When the judge gives up on the call
    /// (its check's time is up) the socket is closed, so a receive without a timeout ends.
    /// </summary>
    private static async Task<JsonObject> PingAsync(PingExchange exchange, JsonObject request, ConcurrentDictionary<string, Socket> sockets, CancellationToken cancellationToken)
    {
        var ping = new PingRequest((int)request["sequence"]!, (string)request["payload"]!, IPEndPoint.Parse((string)request["server"]!),
            TimeSpan.FromTicks((long)request["timeout"]!));
        var run = (string)request["run"]!;
        var socket = sockets.GetOrAdd(run, _ => new Socket(ping.Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        PingReply reply;
        using (cancellationToken.Register(() => { if (sockets.TryRemove(run, out var given)) given.Dispose(); }))
            reply = await Task.Run(() => exchange(socket, ping, cancellationToken), cancellationToken).ConfigureAwait(false);
        var local = socket.IsBound ? socket.LocalEndPoint?.ToString() : null;
        if (reply is null) return new JsonObject { ["null"] = true, ["local"] = local };
        return new JsonObject
        {
            ["sequence"] = reply.Sequence, ["outcome"] = reply.Outcome.ToString(), ["rtt"] = reply.Rtt?.Ticks,
            ["text"] = reply.Text, ["from"] = reply.From?.ToString(), ["local"] = local,
        };
    }

    /// <summary>
    /// Mail: the student's dialogue runs on a connection to the judge's relay, which passes the bytes both ways to the
    /// battery's scripted server as they come (its pauses between reply lines included).
    /// </summary>
    private static async Task<JsonObject> MailAsync(SmtpClientDialogue dialogue, JsonObject request, CancellationToken cancellationToken)
    {
        using var relay = await GradingWire.ConnectAsync(new IPEndPoint(IPAddress.Loopback, (int)request["relay"]!), cancellationToken).ConfigureAwait(false);
        var envelope = new SmtpEnvelope((string)request["from"]!, request["to"]!.AsArray().Select(t => (string)t!).ToList());
        await dialogue(relay.GetStream(), envelope, (string)request["message"]!, cancellationToken).ConfigureAwait(false);
        return new JsonObject { ["done"] = true };
    }
}

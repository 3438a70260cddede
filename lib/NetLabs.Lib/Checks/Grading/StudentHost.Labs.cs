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
using static NetLabs.Checks.Grading.GradingValues;

namespace NetLabs.Checks.Grading;

/// <summary>
/// What one check cell offers the judge: the check's name (the battery the judge runs, one per check cell of the lab)
/// and the student's functions that battery calls.
/// </summary>
internal sealed record GapOffer(string Check)
{
    public ConnectionHandler? Web { get; init; }
    public PingExchange? Ping { get; init; }
    public SmtpClientDialogue? Mail { get; init; }
    public ProxyClientHandler? Proxy { get; init; }
    public Func<byte[], ushort>? Checksum { get; init; }
    public EchoRequestBuilder? EchoRequest { get; init; }
    public IcmpPacketParser? Parser { get; init; }
    public TracerouteHopsLoop? Traceroute { get; init; }
    public RtpHeaderWriter? RtpHeader { get; init; }
    public RtspRequestWriter? RtspRequest { get; init; }
    public RtspReplyReader? RtspReply { get; init; }
}

/// <summary>What the graded kernel keeps across the judge's calls while one gap is offered; disposed with the offer.</summary>
internal sealed class HostState : IAsyncDisposable
{
    public ConcurrentDictionary<string, WebServer> Servers { get; } = new();
    public ConcurrentDictionary<string, Socket> Sockets { get; } = new();
    /// <summary>The proxy gap's caches, one per proxy the judge's battery starts (each check starts with an empty one).</summary>
    public ConcurrentDictionary<string, ProxyCache> Caches { get; } = new();

    public async ValueTask DisposeAsync()
    {
        foreach (var server in Servers.Values) await server.StopAsync().ConfigureAwait(false);
        foreach (var socket in Sockets.Values) socket.Dispose();
    }
}

public static partial class StudentHost
{
    /// <summary>
    /// The gaps that are code over bytes and strings (checksum, echo request, reply parser, RTP header, RTSP request and
    /// reply): the arguments come as values, the student's function runs here once, its result goes back as a value.
    /// </summary>
    private static Func<JsonObject>? PureCall(GapOffer gap, string? kind, JsonObject request) => kind switch
    {
        "checksum" when gap.Checksum is { } checksum => () => new JsonObject { ["value"] = checksum(Bytes(request["data"])) },
        "echo-request" when gap.EchoRequest is { } build => () =>
            build((ushort)request["identifier"]!, (ushort)request["sequence"]!, Bytes(request["data"])) is { } packet
                ? new JsonObject { ["bytes"] = Bytes(packet) } : new JsonObject { ["null"] = true },
        "parse" when gap.Parser is { } parse => () =>
            parse(Bytes(request["packet"])) is { } parsed ? new JsonObject { ["parsed"] = Parsed(parsed) } : new JsonObject { ["null"] = true },
        "rtp-header" when gap.RtpHeader is { } writer => () =>
        {
            var header = new byte[Math.Clamp((int)request["length"]!, 0, 1500)];
            writer(Packet(request["packet"]!), header);
            return new JsonObject { ["header"] = Bytes(header) };
        },
        "rtsp-request" when gap.RtspRequest is { } write => () =>
        {
            var state = State(request["state"]!);
            var text = write((string)request["method"]!, (string)request["url"]!, state);
            return new JsonObject { ["text"] = text, ["state"] = State(state) };
        },
        "rtsp-reply" when gap.RtspReply is { } read => () =>
        {
            var state = State(request["state"]!);
            var accepted = read((string)request["reply"]!, state);
            return new JsonObject { ["accepted"] = accepted, ["state"] = State(state) };
        },
        _ => null,
    };

    /// <summary>
    /// Proxy: the student's handler gets a socket connected to the judge's relay, which passes the bytes of the battery's
    /// client both ways as they come (a request in pieces stays in pieces). The cache is the kernel's, one per proxy the
    /// battery starts, as big as the judge's; what reaches the origin (the judge's web server on this loopback) is counted there.
    /// </summary>
    private static async Task<JsonObject> ProxyAsync(ProxyClientHandler handler, JsonObject request, ConcurrentDictionary<string, ProxyCache> caches, CancellationToken cancellationToken)
    {
        var cache = caches.GetOrAdd((string)request["cache"]!, _ => new ProxyCache((long)request["capacity"]!, (long)request["maxObject"]!));
        using var relay = await GradingWire.ConnectAsync(new IPEndPoint(IPAddress.Loopback, (int)request["relay"]!), cancellationToken).ConfigureAwait(false);
        try
        {
            await handler(relay.Client, cache, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // As the proxy server does after a handler: the client's answer ends here.
            try { relay.Client.Shutdown(SocketShutdown.Send); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        return new JsonObject { ["done"] = true };
    }

    /// <summary>
    /// Traceroute: the student's loop runs here against a prober whose every probe is carried to the judge's prober (the
    /// battery's path of routers) and answered from there. Whatever sends the probes — a simulated path, or a raw socket —
    /// lives in the judge; the student's code only decides which probes to send and when, with no privilege at all.
    /// </summary>
    private static async Task<JsonObject> TracerouteAsync(TracerouteHopsLoop loop, JsonObject request, CancellationToken cancellationToken)
    {
        using var prober = new RemoteProber(new IPEndPoint(IPAddress.Loopback, (int)request["prober"]!),
            Enum.Parse<IcmpSendPath>((string)request["path"]!), Enum.Parse<ProbeKind>((string)request["probeKind"]!));
        var hops = await loop(prober, IPAddress.Parse((string)request["destination"]!), Options(request["options"]!), cancellationToken).ConfigureAwait(false);
        return hops is null
            ? new JsonObject { ["null"] = true }
            : new JsonObject { ["hops"] = new JsonArray([.. hops.Select(h => h is null ? null : (JsonNode)Hop(h))]) };
    }

    /// <summary>A prober in the graded kernel that asks the judge's prober for each answer, one call per probe.</summary>
    private sealed class RemoteProber(IPEndPoint judge, IcmpSendPath path, ProbeKind kind) : Prober
    {
        public override IcmpSendPath Path => path;
        public override ProbeKind Kind => kind;

        public override async Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(request);
            // Closing the call (a cancelled probe) cancels the judge's probe too.
            var reply = await GradingWire.CallAsync(judge, Request(request), cancellationToken).ConfigureAwait(false);
            return Answer(reply["answer"]!);
        }

        protected override void Dispose(bool disposing) { }
    }
}

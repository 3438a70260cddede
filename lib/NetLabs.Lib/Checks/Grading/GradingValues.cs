using System.Net;
using System.Text.Json.Nodes;
using NetLabs.Icmp;
using NetLabs.Video;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The labs' values as they cross the grading bridge, both ways: bytes as base64, times as ticks, addresses as text.
/// One place for each value's form, so the judge and the graded kernel cannot disagree on it.
/// </summary>
internal static class GradingValues
{
    public static string Bytes(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes);

    public static byte[] Bytes(JsonNode? node) => Convert.FromBase64String((string?)node ?? throw new InvalidDataException("missing bytes"));

    public static JsonObject Request(ProbeRequest request) => new()
    {
        ["destination"] = request.Destination.ToString(), ["ttl"] = request.Ttl, ["sequence"] = request.Sequence,
        ["timeout"] = request.Timeout.Ticks, ["payload"] = request.PayloadBytes,
    };

    public static ProbeRequest Request(JsonNode node) => new(IPAddress.Parse((string)node["destination"]!), (int)node["ttl"]!, (ushort)node["sequence"]!,
        TimeSpan.FromTicks((long)node["timeout"]!), (int)node["payload"]!);

    public static JsonObject Answer(ProbeAnswer answer) => new()
    {
        ["request"] = Request(answer.Request), ["status"] = answer.Status.ToString(), ["from"] = answer.From?.ToString(), ["rtt"] = answer.Rtt?.Ticks,
        ["replyTtl"] = answer.ReplyTtl, ["type"] = answer.Type, ["code"] = answer.Code, ["bytes"] = answer.Bytes,
    };

    public static ProbeAnswer Answer(JsonNode node) => new(Request(node["request"]!), Enum.Parse<ProbeStatus>((string)node["status"]!),
        (string?)node["from"] is { } from ? IPAddress.Parse(from) : null, (long?)node["rtt"] is { } rtt ? TimeSpan.FromTicks(rtt) : null,
        (int?)node["replyTtl"], (byte)node["type"]!, (byte)node["code"]!, (int)node["bytes"]!);

    public static JsonObject Hop(TracerouteHop hop) => new()
    {
        ["ttl"] = hop.Ttl, ["probes"] = new JsonArray([.. hop.Probes.Select(p => p is null ? null : (JsonNode)Answer(p))]),
        ["names"] = new JsonObject(hop.Names.Select(n => KeyValuePair.Create(n.Key.ToString(), (JsonNode?)n.Value))),
    };

    public static TracerouteHop Hop(JsonNode node) => new((int)node["ttl"]!, [.. node["probes"]!.AsArray().Select(p => p is null ? null! : Answer(p))],
        node["names"]!.AsObject().ToDictionary(n => IPAddress.Parse(n.Key), n => (string)n.Value!));

    public static JsonObject Options(TracerouteOptions options) => new()
    {
        ["kind"] = options.Kind.ToString(), ["firstTtl"] = options.FirstTtl, ["maxHops"] = options.MaxHops, ["probesPerHop"] = options.ProbesPerHop,
        ["probeTimeout"] = options.ProbeTimeout.Ticks, ["payload"] = options.PayloadBytes, ["basePort"] = options.BasePort,
    };

    public static TracerouteOptions Options(JsonNode node) => new()
    {
        Kind = Enum.Parse<ProbeKind>((string)node["kind"]!), FirstTtl = (int)node["firstTtl"]!, MaxHops = (int)node["maxHops"]!,
        ProbesPerHop = (int)node["probesPerHop"]!, ProbeTimeout = TimeSpan.FromTicks((long)node["probeTimeout"]!), PayloadBytes = (int)node["payload"]!,
        BasePort = (int)node["basePort"]!,
    };

    public static JsonObject Parsed(ParsedIcmp parsed) => new()
    {
        ["source"] = parsed.Source?.ToString(), ["ttl"] = parsed.Ttl, ["type"] = parsed.Type, ["code"] = parsed.Code,
        ["identifier"] = parsed.Identifier, ["sequence"] = parsed.Sequence,
    };

    public static ParsedIcmp Parsed(JsonNode node) => new((string?)node["source"] is { } source ? IPAddress.Parse(source) : null!, (int)node["ttl"]!,
        (byte)node["type"]!, (byte)node["code"]!, (ushort)node["identifier"]!, (ushort)node["sequence"]!);

    /// <summary>An RTP packet's header fields (the payload stays with the sender: a header writer has no business with it).</summary>
    public static JsonObject Packet(RtpPacket packet) => new()
    {
        ["version"] = packet.Version, ["padding"] = packet.Padding, ["extension"] = packet.Extension, ["marker"] = packet.Marker,
        ["payloadType"] = packet.PayloadType, ["sequence"] = packet.SequenceNumber, ["timestamp"] = packet.Timestamp, ["ssrc"] = packet.Ssrc,
        ["csrcs"] = new JsonArray([.. packet.Csrcs.Select(c => (JsonNode?)c)]),
    };

    public static RtpPacket Packet(JsonNode node) => new()
    {
        Version = (byte)node["version"]!, Padding = (bool)node["padding"]!, Extension = (bool)node["extension"]!, Marker = (bool)node["marker"]!,
        PayloadType = (byte)node["payloadType"]!, SequenceNumber = (ushort)node["sequence"]!, Timestamp = (uint)node["timestamp"]!, Ssrc = (uint)node["ssrc"]!,
        Csrcs = [.. node["csrcs"]!.AsArray().Select(c => (uint)c!)],
    };

    public static JsonObject State(RtspClientState state) => new()
    {
        ["cseq"] = state.CSeq, ["session"] = state.Session, ["rtpPort"] = state.RtpPort, ["lastStatus"] = state.LastStatus,
    };

    /// <summary>The client state as the student's function left it, written back into <paramref name="state"/>.</summary>
    public static RtspClientState State(JsonNode node, RtspClientState? state = null)
    {
        state ??= new RtspClientState();
        state.CSeq = (int)node["cseq"]!;
        state.Session = (string?)node["session"];
        state.RtpPort = (int)node["rtpPort"]!;
        state.LastStatus = (int)node["lastStatus"]!;
        return state;
    }
}

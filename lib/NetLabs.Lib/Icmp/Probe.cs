using System.Globalization;
using System.Net;

namespace NetLabs.Icmp;

/// <summary>How a probe is sent: an ICMP echo request, or a UDP datagram to an unlikely high port.</summary>
public enum ProbeKind { Icmp, Udp }

/// <summary>One probe: where, with which TTL and sequence number, and how long to wait for its answer (its own timeout).</summary>
public sealed record ProbeRequest(IPAddress Destination, int Ttl, ushort Sequence, TimeSpan Timeout, int PayloadBytes = EchoPayload.DefaultSize);

/// <summary>What answered a probe.</summary>
public enum ProbeStatus
{
    /// <summary>The destination's echo reply.</summary>
    EchoReply,
    /// <summary>A router on the way dropped the probe when its TTL reached 0.</summary>
    TimeExceeded,
    /// <summary>The destination said no program listens on the UDP port: how a UDP trace ends.</summary>
    PortUnreachable,
    /// <summary>Another "destination unreachable" (network, host, prohibited, …); <see cref="ProbeAnswer.Code"/> says which.</summary>
    Unreachable,
    /// <summary>Another ICMP error (parameter problem, redirect, …).</summary>
    OtherError,
    /// <summary>Nothing came back within the probe's timeout.</summary>
    Timeout,
}

/// <summary>The answer to one probe: who sent it, after how long, and what it said.</summary>
public sealed record ProbeAnswer(ProbeRequest Request, ProbeStatus Status, IPAddress? From, TimeSpan? Rtt, int? ReplyTtl, byte Type, byte Code, int Bytes)
{
    public double? RttMilliseconds => Rtt?.TotalMilliseconds;

    /// <summary>The packet that answered, as read from the socket (its IP header when the socket delivers it); null for a timeout or the OS's ping.</summary>
    public ReceivedIcmp? Received { get; init; }

    /// <summary>The destination itself answered (echo reply, port unreachable, or another unreachable from it).</summary>
    public bool FromDestination => From is not null && From.Equals(Request.Destination);

    public static ProbeAnswer TimedOut(ProbeRequest request) => new(request, ProbeStatus.Timeout, null, null, null, 0, 0, 0);

    public static ProbeAnswer Answered(ProbeRequest request, ReceivedIcmp received, TimeSpan rtt)
    {
        var message = received.Message;
        var status = (IcmpType)message.Type switch
        {
            IcmpType.EchoReply => ProbeStatus.EchoReply,
            IcmpType.TimeExceeded => ProbeStatus.TimeExceeded,
            IcmpType.DestinationUnreachable when message.Code == 3 => ProbeStatus.PortUnreachable,
            IcmpType.DestinationUnreachable => ProbeStatus.Unreachable,
            _ => ProbeStatus.OtherError,
        };
        return new ProbeAnswer(request, status, received.From, rtt, received.Ttl, message.Type, message.Code, message.Bytes.Length) { Received = received };
    }

    public string Description => Status == ProbeStatus.Timeout ? "no answer" : IcmpNames.Describe(Type, Code);

    /// <summary>The line iputils ping prints for it.</summary>
    public override string ToString() => Status switch
    {
        ProbeStatus.EchoReply => string.Create(CultureInfo.InvariantCulture,
            $"{Bytes} bytes from {From}: icmp_seq={Request.Sequence}{(ReplyTtl is { } t ? $" ttl={t}" : "")} time={PingTime(RttMilliseconds!.Value)} ms"),
        ProbeStatus.Timeout => $"no answer yet for icmp_seq={Request.Sequence}",
        _ => $"From {From} icmp_seq={Request.Sequence} {Capitalized(IcmpNames.Describe(Type, Code))}",
    };

    private static string Capitalized(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    /// <summary>ping's precision: three decimals below 1 ms, two below 10, one below 100, none above.</summary>
    internal static string PingTime(double ms) => ms.ToString(ms < 1 ? "0.000" : ms < 10 ? "0.00" : ms < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);
}

using System.Net;

namespace NetLabs.Icmp;

/// <summary>
/// An ICMP message as a socket delivered it: from a raw socket (and from a macOS datagram socket) behind its IP
/// header, whose IHL says where the message starts; from a Linux ICMP datagram socket without one.
/// </summary>
public sealed record ReceivedIcmp(IPAddress From, Ipv4Header? IpHeader, IcmpMessage Message)
{
    /// <summary>The TTL the packet arrived with, when the IP header was delivered.</summary>
    public int? Ttl => IpHeader?.Ttl;

    public static bool TryParse(ReadOnlySpan<byte> packet, bool includesIpHeader, IPAddress from, out ReceivedIcmp received, out string error)
    {
        received = null!;
        Ipv4Header? header = null;
        var icmp = packet;
        if (includesIpHeader)
        {
            if (!Ipv4Header.TryParse(packet, out var ip, out error)) return false;
            if (ip.Protocol != Ipv4Header.ProtocolIcmp) { error = $"protocol {ip.Protocol} is not ICMP"; return false; }
            header = ip;
            from = ip.Source;
            icmp = packet[ip.HeaderLength..];
        }
        if (!IcmpMessage.TryParse(icmp, out var message, out error)) return false;
        received = new ReceivedIcmp(from, header, message);
        return true;
    }

    /// <summary>
    /// Is this the answer to our echo request (<paramref name="identifier"/>, <paramref name="sequence"/>) to
    /// <paramref name="destination"/>? An echo reply from the destination with both numbers, or an error quoting our
    /// request. <paramref name="checkIdentifier"/> is false where the kernel owns the identifier (Linux datagram
    /// sockets, which only deliver replies to their own socket).
    /// </summary>
    public bool AnswersEcho(IPAddress destination, ushort identifier, ushort sequence, bool checkIdentifier = true)
    {
        if (Message.Type == (byte)IcmpType.EchoReply)
            return Message.Sequence == sequence && (!checkIdentifier || Message.Identifier == identifier) && From.Equals(destination);
        return Message.Quoted is { Echo: { } echo } quoted && echo.Sequence == sequence
            && (!checkIdentifier || echo.Identifier == identifier) && quoted.Header.Destination.Equals(destination);
    }

    /// <summary>Is this an error about our UDP probe from <paramref name="sourcePort"/> to <paramref name="destination"/>:<paramref name="destinationPort"/>?</summary>
    public bool AnswersUdp(IPAddress destination, ushort sourcePort, ushort destinationPort) =>
        Message.Quoted is { Udp: { } udp } quoted && udp.SourcePort == sourcePort && udp.DestinationPort == destinationPort
        && quoted.Header.Destination.Equals(destination);
}

using System.Net;

namespace NetLabs.Icmp;

/// <summary>
/// Lab 5's first seam: builds the bytes of an echo request (type 8, code 0, checksum, identifier, sequence, data), as
/// the student's own code does. Null in the options is ours, <see cref="IcmpMessage.EchoRequest"/>.
/// </summary>
public delegate byte[] EchoRequestBuilder(ushort identifier, ushort sequence, byte[] data);

/// <summary>
/// Lab 5's second seam: reads a packet as a raw socket delivers it (IPv4 header, then the ICMP message) and returns
/// its fields, or null when it is not a readable ICMP message (too short, wrong checksum, not ICMP).
/// </summary>
public delegate ParsedIcmp? IcmpPacketParser(byte[] packet);

/// <summary>The fields a parser reads from a received packet: who sent it, its TTL, and the ICMP header.</summary>
public sealed record ParsedIcmp(IPAddress Source, int Ttl, byte Type, byte Code, ushort Identifier, ushort Sequence);

/// <summary>The student's builder and parser, in place of ours, for a raw-socket pinger (<see cref="Probers.OpenWith"/>).</summary>
public sealed record EchoCodec(EchoRequestBuilder? Builder = null, IcmpPacketParser? Parser = null)
{
    /// <summary>Our own parser in the seam's shape: what the student's is compared with.</summary>
    public static ParsedIcmp? ReferenceParse(byte[] packet) =>
        ReceivedIcmp.TryParse(packet, includesIpHeader: true, IPAddress.None, out var r, out _)
            ? new ParsedIcmp(r.From, r.Ttl ?? 0, r.Message.Type, r.Message.Code, r.Message.Identifier, r.Message.Sequence)
            : null;

    public static byte[] ReferenceBuild(ushort identifier, ushort sequence, byte[] data) => IcmpMessage.EchoRequest(identifier, sequence, data).Bytes.ToArray();
}

using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using PacketDotNet;

namespace NetLabs.Capture;

/// <summary>The transport a captured frame carries.</summary>
public enum PacketProtocol { Tcp, Udp, Icmp, Other }

/// <summary>The flags of a TCP segment, bit for bit as in the header.</summary>
[Flags]
public enum TcpFlags
{
    None = 0, Fin = 1, Syn = 2, Rst = 4, Psh = 8, Ack = 16, Urg = 32,
}

/// <summary>A frame as libpcap delivered it: when, the link type (1 Ethernet, 0 BSD loopback, …) and its bytes.</summary>
public sealed record CapturedFrame(DateTime TimestampUtc, int LinkType, byte[] Bytes, int OriginalLength);

/// <summary>
/// One captured packet, decoded: one row of the packet table. Sequence and acknowledgment numbers are relative to the
/// connection's first sequence number in each direction (as Wireshark shows them), so a handshake reads seq=0, ack=1.
/// </summary>
public sealed record CapturedPacket
{
    /// <summary>1 for the first packet of the capture.</summary>
    public int Number { get; init; }
    public DateTime TimestampUtc { get; init; }
    /// <summary>Time since the first packet of the capture.</summary>
    public TimeSpan Time { get; init; }
    public PacketProtocol Protocol { get; init; }
    public IPAddress Source { get; init; } = IPAddress.None;
    public IPAddress Destination { get; init; } = IPAddress.None;
    /// <summary>0 for ICMP and other packets without ports.</summary>
    public int SourcePort { get; init; }
    public int DestinationPort { get; init; }
    public int Ttl { get; init; }
    public TcpFlags Flags { get; init; }
    /// <summary>The sequence number as in the header.</summary>
    public uint RawSequence { get; init; }
    public uint RawAcknowledgment { get; init; }
    /// <summary>Relative to this direction's initial sequence number (TCP only).</summary>
    public long? Sequence { get; init; }
    /// <summary>Relative to the other direction's initial sequence number (TCP segments with ACK only).</summary>
    public long? Acknowledgment { get; init; }
    /// <summary>The receive window as in the header (not scaled).</summary>
    public int Window { get; init; }
    /// <summary>Bytes of application data (TCP or UDP payload; the ICMP message's data).</summary>
    public int PayloadLength { get; init; }
    /// <summary>The first bytes of the payload: text with \r\n shown, or hex when they are not text.</summary>
    public string FirstBytes { get; init; } = "";
    /// <summary>For ICMP: what the message is ("echo request id=7 seq=1", "time exceeded (TTL expired in transit) …").</summary>
    public string? IcmpMessage { get; init; }
    /// <summary>TLS records whose headers start in this segment (ClientHello, ServerHello, Application Data, …).</summary>
    public IReadOnlyList<string> Tls { get; init; } = [];
    /// <summary>"client → server" or "server → client" (the client sent the first SYN, or the first datagram).</summary>
    public bool FromClient { get; init; }
    /// <summary>What sequence continuity says: "retransmission", "gap: N bytes missing before", or empty.</summary>
    public string Note { get; init; } = "";
    /// <summary>The whole frame, for the .pcapng file.</summary>
    public CapturedFrame Frame { get; init; } = new(DateTime.MinValue, 1, [], 0);

    /// <summary>Where the payload starts in <see cref="Frame"/>.</summary>
    internal int PayloadOffset { get; init; }

    /// <summary>The application bytes (TCP or UDP payload) as captured: what anyone on the path could read.</summary>
    public ReadOnlyMemory<byte> Payload => PayloadLength == 0 || Protocol is not (PacketProtocol.Tcp or PacketProtocol.Udp)
        ? ReadOnlyMemory<byte>.Empty
        : Frame.Bytes.AsMemory(PayloadOffset, Math.Min(PayloadLength, Frame.Bytes.Length - PayloadOffset));

    /// <summary>The payload as Latin-1 text (every byte one character): for reading what travelled in clear.</summary>
    public string PayloadText => System.Text.Encoding.Latin1.GetString(Payload.Span);

    public IPEndPoint SourceEndPoint => new(Source, SourcePort);
    public IPEndPoint DestinationEndPoint => new(Destination, DestinationPort);

    /// <summary>"SYN ACK", "PSH ACK", "FIN ACK", … in the order Wireshark lists them.</summary>
    public string FlagNames
    {
        get
        {
            var names = new List<string>();
            foreach (var (flag, name) in new[] { (TcpFlags.Syn, "SYN"), (TcpFlags.Fin, "FIN"), (TcpFlags.Rst, "RST"), (TcpFlags.Psh, "PSH"), (TcpFlags.Urg, "URG"), (TcpFlags.Ack, "ACK") })
                if (Flags.HasFlag(flag)) names.Add(name);
            return string.Join(' ', names);
        }
    }

    /// <summary>The "what" column: "TCP SYN", "UDP", "ICMP echo reply id=1 seq=3".</summary>
    public string What => Protocol switch
    {
        PacketProtocol.Tcp => "TCP " + FlagNames,
        PacketProtocol.Udp => "UDP",
        PacketProtocol.Icmp => "ICMP " + IcmpMessage,
        _ => "other",
    };

    /// <summary>The "data" column: TLS records by name, else the first bytes.</summary>
    public string Data => Tls.Count > 0 ? "TLS " + string.Join(", ", Tls) : FirstBytes;

    public override string ToString()
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{Number,4} {Time.TotalMilliseconds,9:0.000} ms  {Endpoint(Source, SourcePort)} → {Endpoint(Destination, DestinationPort)}  {What}");
        if (Sequence is { } seq) text.Append(CultureInfo.InvariantCulture, $" seq={seq}");
        if (Acknowledgment is { } ack) text.Append(CultureInfo.InvariantCulture, $" ack={ack}");
        if (Protocol == PacketProtocol.Tcp) text.Append(CultureInfo.InvariantCulture, $" win={Window}");
        text.Append(CultureInfo.InvariantCulture, $" len={PayloadLength}");
        if (Data.Length > 0) text.Append("  ").Append(Data);
        if (Note.Length > 0) text.Append("  [").Append(Note).Append(']');
        return text.ToString();
    }

    internal static string Endpoint(IPAddress address, int port) =>
        port == 0 ? address.ToString() : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";

    /// <summary>Decodes a frame; a frame that is not IP (or does not decode) becomes an "other" row, never an exception.</summary>
    internal static CapturedPacket Decode(CapturedFrame frame)
    {
        var row = new CapturedPacket { TimestampUtc = frame.TimestampUtc, Frame = frame, Protocol = PacketProtocol.Other };
        try
        {
            var ip = Packet.ParsePacket((LinkLayers)frame.LinkType, frame.Bytes).Extract<IPPacket>();
            if (ip is null) return row with { FirstBytes = "(not an IP packet)" };
            row = row with { Source = ip.SourceAddress, Destination = ip.DestinationAddress, Ttl = ip.TimeToLive };
            switch (ip.Protocol)
            {
                case ProtocolType.Tcp when ip.PayloadPacket is TcpPacket tcp:
                    var data = tcp.PayloadDataSegment;
                    return row with
                    {
                        Protocol = PacketProtocol.Tcp, SourcePort = tcp.SourcePort, DestinationPort = tcp.DestinationPort,
                        Flags = (TcpFlags)(tcp.Flags & 0x3F), RawSequence = tcp.SequenceNumber, RawAcknowledgment = tcp.AcknowledgmentNumber,
                        Window = tcp.WindowSize, PayloadLength = data?.Length ?? 0, PayloadOffset = data?.Offset ?? 0,
                        FirstBytes = data is null ? "" : Preview(frame.Bytes.AsSpan(data.Offset, data.Length)),
                    };
                case ProtocolType.Udp when ip.PayloadPacket is UdpPacket udp:
                    var datagram = udp.PayloadDataSegment;
                    return row with
                    {
                        Protocol = PacketProtocol.Udp, SourcePort = udp.SourcePort, DestinationPort = udp.DestinationPort,
                        PayloadLength = datagram?.Length ?? 0, PayloadOffset = datagram?.Offset ?? 0,
                        FirstBytes = datagram is null ? "" : Preview(frame.Bytes.AsSpan(datagram.Offset, datagram.Length)),
                    };
                case ProtocolType.Icmp:
                    // PacketDotNet decodes the ICMP message as the IP packet's payload packet: its Bytes are header and data.
                    var icmp = ip.PayloadPacket?.Bytes ?? ip.PayloadData ?? [];
                    return row with
                    {
                        Protocol = PacketProtocol.Icmp, IcmpMessage = DescribeIcmp(icmp), PayloadLength = Math.Max(0, icmp.Length - 8),
                        FirstBytes = icmp.Length > 8 ? Preview(icmp.AsSpan(8)) : "",
                    };
                default:
                    return row with { FirstBytes = $"IP protocol {(int)ip.Protocol}" };
            }
        }
        catch (Exception error) when (error is ArgumentException or IndexOutOfRangeException or InvalidOperationException or NotImplementedException)
        {
            return row with { FirstBytes = $"(undecodable frame: {error.Message})" };
        }
    }

    /// <summary>An ICMP message in words; for errors, the datagram it is about (its first 8 bytes come back with it).</summary>
    internal static string DescribeIcmp(ReadOnlySpan<byte> icmp)
    {
        if (icmp.Length < 4) return "(truncated)";
        int type = icmp[0], code = icmp[1];
        var idSeq = icmp.Length >= 8 ? $" id={BinaryPrimitives.ReadUInt16BigEndian(icmp[4..])} seq={BinaryPrimitives.ReadUInt16BigEndian(icmp[6..])}" : "";
        return type switch
        {
            0 => "echo reply" + idSeq,
            8 => "echo request" + idSeq,
            3 => $"destination unreachable ({UnreachableCode(code)}){Quoted(icmp)}",
            11 => $"time exceeded ({(code == 0 ? "TTL expired in transit" : "fragment reassembly")}){Quoted(icmp)}",
            _ => $"type {type} code {code}",
        };
    }

    private static string UnreachableCode(int code) => code switch
    {
        0 => "network", 1 => "host", 2 => "protocol", 3 => "port", 4 => "fragmentation needed", 13 => "administratively prohibited",
        _ => $"code {code}",
    };

    /// <summary>" for UDP → 10.0.0.2:33434": the offending datagram's header, which ICMP errors carry back.</summary>
    private static string Quoted(ReadOnlySpan<byte> icmp)
    {
        var inner = icmp.Length > 8 ? icmp[8..] : [];
        if (inner.Length < 20 || inner[0] >> 4 != 4) return "";
        var headerLength = (inner[0] & 0x0F) * 4;
        var destination = new IPAddress(inner.Slice(16, 4));
        var protocol = inner[9];
        var name = protocol switch { 1 => "ICMP", 6 => "TCP", 17 => "UDP", _ => $"protocol {protocol}" };
        if (protocol is 6 or 17 && inner.Length >= headerLength + 4)
            return $" for {name} → {destination}:{BinaryPrimitives.ReadUInt16BigEndian(inner[(headerLength + 2)..])}";
        if (protocol == 1 && inner.Length >= headerLength + 8)
            return $" for ICMP echo seq={BinaryPrimitives.ReadUInt16BigEndian(inner[(headerLength + 6)..])} → {destination}";
        return $" for {name} → {destination}";
    }

    /// <summary>Bytes shown in a table cell: text (\r\n visible) when they read as text, else hex.</summary>
    internal static string Preview(ReadOnlySpan<byte> bytes, int max = 24)
    {
        if (bytes.IsEmpty) return "";
        var head = bytes[..Math.Min(max, bytes.Length)];
        var printable = 0;
        foreach (var b in head) if (b is >= 0x20 and < 0x7F or (byte)'\r' or (byte)'\n' or (byte)'\t') printable++;
        var more = bytes.Length > head.Length ? "…" : "";
        if (printable == head.Length)
        {
            var text = new StringBuilder();
            foreach (var b in head)
                text.Append(b switch { (byte)'\r' => "\\r", (byte)'\n' => "\\n", (byte)'\t' => "\\t", _ => ((char)b).ToString() });
            return text.Append(more).ToString();
        }
        return Convert.ToHexString(head[..Math.Min(12, head.Length)]).ToLowerInvariant() is var hex
            ? string.Join(' ', Enumerable.Range(0, hex.Length / 2).Select(i => hex.Substring(2 * i, 2))) + (bytes.Length > 12 ? " …" : "")
            : "";
    }
}

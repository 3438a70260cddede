using System.Buffers.Binary;
using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Icmp;

/// <summary>
/// One ICMP message: type, code, checksum, the 4 "rest of header" bytes (identifier and sequence number for echo
/// messages, unused or a pointer for errors) and the data after them. Errors carry the quoted IP header and first
/// 8 bytes of the datagram they are about, which says which probe they answer.
/// </summary>
public sealed class IcmpMessage : IHtmlDisplay
{
    public const int HeaderLength = 8;

    private readonly byte[] _bytes;

    private IcmpMessage(byte[] bytes) => _bytes = bytes;

    public byte Type => _bytes[0];
    public byte Code => _bytes[1];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes.AsSpan(2));
    /// <summary>Echo messages: who asked (chosen by the sender, returned in the reply).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_bytes.AsSpan(4));
    /// <summary>Echo messages: which of the sender's requests this is.</summary>
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(_bytes.AsSpan(6));
    public ReadOnlyMemory<byte> Data => _bytes.AsMemory(HeaderLength);
    /// <summary>The whole message as sent or received.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;
    public bool IsError => IcmpNames.IsError(Type);
    public string Description => IcmpNames.Describe(Type, Code);

    /// <summary>
    /// An echo request with its checksum computed over the whole message (header with a zero checksum field, then
    /// the data) as bytes.
    /// </summary>
    public static IcmpMessage EchoRequest(ushort identifier, ushort sequence, ReadOnlySpan<byte> data) =>
        Build((byte)IcmpType.EchoRequest, 0, identifier, sequence, data);

    /// <summary>Any message from its fields; the checksum is computed.</summary>
    public static IcmpMessage Build(byte type, byte code, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        var bytes = new byte[HeaderLength + data.Length];
        bytes[0] = type;
        bytes[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), identifier);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), sequence);
        data.CopyTo(bytes.AsSpan(HeaderLength));
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), InternetChecksum.Compute(bytes));
        return new IcmpMessage(bytes);
    }

    /// <summary>
    /// Reads an ICMP message (no IP header in front); false with a reason when it is shorter than 8 bytes or its
    /// checksum is wrong. A damaged message is never taken for a reply.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out IcmpMessage parsed, out string error)
    {
        parsed = null!;
        if (message.Length < HeaderLength) { error = $"{message.Length} bytes is shorter than an ICMP header (8)"; return false; }
        if (!InternetChecksum.Verify(message)) { error = $"wrong ICMP checksum 0x{BinaryPrimitives.ReadUInt16BigEndian(message[2..]):X4}"; return false; }
        parsed = new IcmpMessage(message.ToArray());
        error = "";
        return true;
    }

    /// <summary>For an error: the header and first bytes of the datagram it is about; null when absent or malformed.</summary>
    public QuotedDatagram? Quoted => IsError && QuotedDatagram.TryParse(Data.Span, out var quoted) ? quoted : null;

    /// <summary>The message's bytes as a table of fields: what the notebook draws.</summary>
    public HtmlTable ToTable(string caption = "ICMP message") => new(caption, ["bytes", "field", "hex", "value"],
    [
        ["0", "type", $"{Type:X2}", $"{Type} ({IcmpNames.TypeName(Type)})"],
        ["1", "code", $"{Code:X2}", Code.ToString(CultureInfo.InvariantCulture)],
        ["2–3", "checksum", $"{_bytes[2]:X2} {_bytes[3]:X2}", $"0x{Checksum:X4}"],
        ["4–5", "identifier", $"{_bytes[4]:X2} {_bytes[5]:X2}", Identifier.ToString(CultureInfo.InvariantCulture)],
        ["6–7", "sequence number", $"{_bytes[6]:X2} {_bytes[7]:X2}", Sequence.ToString(CultureInfo.InvariantCulture)],
        [$"8–{_bytes.Length - 1}", "data", Hex(Data.Span, 16), $"{Data.Length} bytes"],
    ]);

    internal static string Hex(ReadOnlySpan<byte> bytes, int max)
    {
        var shown = Convert.ToHexString(bytes[..Math.Min(max, bytes.Length)]);
        var spaced = string.Join(' ', Enumerable.Range(0, shown.Length / 2).Select(i => shown.Substring(2 * i, 2)));
        return bytes.Length > max ? spaced + " …" : spaced;
    }

    public string ToHtml() => ToTable().ToHtml();

    public override string ToString() => IsError
        ? $"ICMP {Description}" + (Quoted is { } q ? $" about {q}" : "")
        : string.Create(CultureInfo.InvariantCulture, $"ICMP {Description} id={Identifier} seq={Sequence} {Data.Length} data bytes");
}

/// <summary>
/// What an ICMP error quotes: the original datagram's IP header (its own IHL) and at least its first 8 bytes, which
/// hold an ICMP echo's identifier and sequence or a UDP datagram's ports.
/// </summary>
public sealed record QuotedDatagram(Ipv4Header Header, ushort FirstWord, ushort SecondWord, ushort ThirdWord, ushort FourthWord)
{
    public static bool TryParse(ReadOnlySpan<byte> data, out QuotedDatagram quoted)
    {
        quoted = null!;
        if (!Ipv4Header.TryParse(data, out var header, out _) || data.Length < header.HeaderLength + 8) return false;
        var first8 = data[header.HeaderLength..];
        quoted = new QuotedDatagram(header, BinaryPrimitives.ReadUInt16BigEndian(first8), BinaryPrimitives.ReadUInt16BigEndian(first8[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(first8[4..]), BinaryPrimitives.ReadUInt16BigEndian(first8[6..]));
        return true;
    }

    /// <summary>The quoted datagram was an ICMP echo request: its identifier and sequence number.</summary>
    public (ushort Identifier, ushort Sequence)? Echo =>
        Header.Protocol == Ipv4Header.ProtocolIcmp && FirstWord >> 8 == (int)IcmpType.EchoRequest ? (ThirdWord, FourthWord) : null;

    /// <summary>The quoted datagram was UDP: its source and destination ports.</summary>
    public (ushort SourcePort, ushort DestinationPort)? Udp => Header.Protocol == Ipv4Header.ProtocolUdp ? (FirstWord, SecondWord) : null;

    public override string ToString() => Echo is { } e ? $"echo request to {Header.Destination} id={e.Identifier} seq={e.Sequence}"
        : Udp is { } u ? $"UDP {Header.Source}:{u.SourcePort} → {Header.Destination}:{u.DestinationPort}"
        : $"{Header.ProtocolName} to {Header.Destination}";
}

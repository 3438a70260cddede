using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using NetLabs.Display;

namespace NetLabs.Icmp;

/// <summary>
/// An IPv4 header as read from the wire. Its length is IHL × 4 bytes (20 without options, up to 60): the payload
/// starts there, never at a fixed offset of 20.
/// </summary>
public sealed record Ipv4Header(
    int Version, int HeaderLength, int TypeOfService, int TotalLength, ushort Identification, int Flags,
    int FragmentOffset, int Ttl, int Protocol, ushort Checksum, IPAddress Source, IPAddress Destination,
    bool ChecksumValid) : IHtmlDisplay
{
    public const int MinimumLength = 20;
    public const int ProtocolIcmp = 1;
    public const int ProtocolUdp = 17;

    /// <summary>
    /// Reads the header at the start of <paramref name="datagram"/>; false with a reason when it is too short, not
    /// version 4, or its IHL is below 5 or runs past the bytes received.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out Ipv4Header header, out string error)
    {
        header = null!;
        if (datagram.Length < MinimumLength) { error = $"{datagram.Length} bytes is shorter than an IPv4 header (20)"; return false; }
        var version = datagram[0] >> 4;
        if (version != 4) { error = $"IP version {version}, not 4"; return false; }
        var headerLength = (datagram[0] & 0x0F) * 4;
        if (headerLength < MinimumLength) { error = $"IHL {headerLength / 4} is below the minimum of 5"; return false; }
        if (headerLength > datagram.Length) { error = $"IHL says {headerLength} header bytes but only {datagram.Length} arrived"; return false; }
        var flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(datagram[6..]);
        header = new Ipv4Header(version, headerLength, datagram[1], BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]), flagsAndOffset >> 13, flagsAndOffset & 0x1FFF, datagram[8], datagram[9],
            BinaryPrimitives.ReadUInt16BigEndian(datagram[10..]), new IPAddress(datagram[12..16]), new IPAddress(datagram[16..20]),
            InternetChecksum.Verify(datagram[..headerLength]));
        error = "";
        return true;
    }

    /// <summary>
    /// An IPv4 datagram around <paramref name="payload"/> with a valid header checksum, and <paramref name="optionBytes"/>
    /// bytes of options (NOPs, a multiple of 4) that make the header longer than 20: what parsers must cope with.
    /// </summary>
    public static byte[] Wrap(IPAddress source, IPAddress destination, ReadOnlySpan<byte> payload, int optionBytes = 0, int ttl = 64, int protocol = ProtocolIcmp)
    {
        if (optionBytes is < 0 or > 40 || optionBytes % 4 != 0) throw new ArgumentOutOfRangeException(nameof(optionBytes), optionBytes, "IPv4 options are 0–40 bytes, in steps of 4.");
        var headerLength = MinimumLength + optionBytes;
        var bytes = new byte[headerLength + payload.Length];
        bytes[0] = (byte)(0x40 | headerLength / 4);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)bytes.Length);
        bytes[8] = (byte)ttl;
        bytes[9] = (byte)protocol;
        source.GetAddressBytes().CopyTo(bytes, 12);
        destination.GetAddressBytes().CopyTo(bytes, 16);
        bytes.AsSpan(MinimumLength, optionBytes).Fill(1);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(10), InternetChecksum.Compute(bytes.AsSpan(0, headerLength)));
        payload.CopyTo(bytes.AsSpan(headerLength));
        return bytes;
    }

    public string ProtocolName => Protocol switch { ProtocolIcmp => "ICMP", ProtocolUdp => "UDP", 6 => "TCP", _ => Protocol.ToString(CultureInfo.InvariantCulture) };

    public HtmlTable ToTable(string caption = "IPv4 header") => new(caption, ["field", "value", "meaning"],
    [
        ["version", Version.ToString(CultureInfo.InvariantCulture), "IPv4"],
        ["IHL", (HeaderLength / 4).ToString(CultureInfo.InvariantCulture), $"{HeaderLength} header bytes: the ICMP message starts at byte {HeaderLength}"],
        ["type of service", $"0x{TypeOfService:X2}", "DSCP and ECN"],
        ["total length", TotalLength.ToString(CultureInfo.InvariantCulture), "header and payload, in bytes"],
        ["identification", $"0x{Identification:X4}", "groups fragments"],
        ["flags", Flags.ToString(CultureInfo.InvariantCulture), (Flags & 2) != 0 ? "don't fragment" : "may be fragmented"],
        ["fragment offset", FragmentOffset.ToString(CultureInfo.InvariantCulture), "in 8-byte units"],
        ["TTL", Ttl.ToString(CultureInfo.InvariantCulture), "hops left when it arrived"],
        ["protocol", Protocol.ToString(CultureInfo.InvariantCulture), ProtocolName],
        ["header checksum", $"0x{Checksum:X4}", ChecksumValid ? "valid" : "INVALID"],
        ["source", Source.ToString(), "who sent it"],
        ["destination", Destination.ToString(), "us"],
    ]);

    public string ToHtml() => ToTable().ToHtml();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"IPv4 {Source} → {Destination} {ProtocolName} ttl={Ttl} ihl={HeaderLength / 4} len={TotalLength}");
}

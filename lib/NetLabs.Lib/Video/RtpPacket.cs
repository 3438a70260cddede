using System.Buffers.Binary;
using System.Globalization;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>A datagram that is not an RTP packet (too short, wrong version, lengths that do not add up).</summary>
public sealed class RtpFormatException(string message) : NetLabsException(message);

/// <summary>
/// One RTP packet (RFC 3550 §5.1): the 12-byte fixed header, the CSRC list, an optional header extension, the
/// payload and optional padding.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// |                           timestamp                           |
/// |           synchronization source (SSRC) identifier            |
/// </code>
/// </summary>
public sealed record RtpPacket
{
    public const int FixedHeaderLength = 12;
    /// <summary>The static payload type of JPEG video (RFC 3551), what the textbook's server sends.</summary>
    public const byte JpegPayloadType = 26;
    /// <summary>RTP's clock for video: 90 kHz (RFC 3551 §5).</summary>
    public const int VideoClockRate = 90_000;

    public byte Version { get; init; } = 2;
    public bool Padding { get; init; }
    public bool Extension { get; init; }
    /// <summary>Marker: for video, the last packet of a frame.</summary>
    public bool Marker { get; init; }
    public byte PayloadType { get; init; } = JpegPayloadType;
    public ushort SequenceNumber { get; init; }
    public uint Timestamp { get; init; }
    public uint Ssrc { get; init; }
    public IReadOnlyList<uint> Csrcs { get; init; } = [];
    public ReadOnlyMemory<byte> Payload { get; init; }

    public int HeaderLength => FixedHeaderLength + 4 * Csrcs.Count;

    /// <summary>The packet as sent on the wire (without extension or padding: the sender uses neither).</summary>
    public byte[] ToBytes(RtpHeaderWriter? headerWriter = null)
    {
        var bytes = new byte[HeaderLength + Payload.Length];
        (headerWriter ?? WriteHeader)(this, bytes);
        Payload.Span.CopyTo(bytes.AsSpan(HeaderLength));
        return bytes;
    }

    /// <summary>The library's header packing: the reference for the student's <see cref="RtpHeaderWriter"/>.</summary>
    public static void WriteHeader(RtpPacket packet, Span<byte> header)
    {
        if (packet.Csrcs.Count > 15) throw new ArgumentException("RTP carries at most 15 CSRCs (CC is 4 bits).", nameof(packet));
        if (packet.PayloadType > 127) throw new ArgumentException("The payload type is 7 bits (0–127).", nameof(packet));
        header[0] = (byte)((packet.Version & 0b11) << 6 | (packet.Padding ? 1 : 0) << 5 | (packet.Extension ? 1 : 0) << 4 | packet.Csrcs.Count);
        header[1] = (byte)((packet.Marker ? 0x80 : 0) | packet.PayloadType);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], packet.SequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], packet.Timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(header[8..], packet.Ssrc);
        for (var i = 0; i < packet.Csrcs.Count; i++)
            BinaryPrimitives.WriteUInt32BigEndian(header[(12 + 4 * i)..], packet.Csrcs[i]);
    }

    /// <summary>Reads a datagram; throws <see cref="RtpFormatException"/> with the reason when it is not RTP.</summary>
    public static RtpPacket Parse(ReadOnlyMemory<byte> datagram) =>
        TryParse(datagram, out var packet, out var error) ? packet : throw new RtpFormatException(error);

    /// <summary>Reads a datagram without throwing: false, with the reason, when it is not an RTP packet.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> datagram, out RtpPacket packet, out string error)
    {
        packet = null!;
        var span = datagram.Span;
        if (span.Length < FixedHeaderLength)
            return Fail($"{span.Length} bytes is shorter than RTP's 12-byte fixed header.", out error);
        var version = span[0] >> 6;
        if (version != 2)
            return Fail($"RTP version {version}: only version 2 exists (RFC 3550).", out error);
        var csrcCount = span[0] & 0x0F;
        var offset = FixedHeaderLength + 4 * csrcCount;
        if (span.Length < offset)
            return Fail($"The header announces {csrcCount} CSRCs but the packet ends after {span.Length} bytes.", out error);
        var extension = (span[0] & 0x10) != 0;
        if (extension)
        {
            if (span.Length < offset + 4)
                return Fail("The extension bit is set but the packet ends before the extension header.", out error);
            var words = BinaryPrimitives.ReadUInt16BigEndian(span[(offset + 2)..]);
            offset += 4 + 4 * words;
            if (span.Length < offset)
                return Fail($"The header extension announces {words} words but the packet ends after {span.Length} bytes.", out error);
        }
        var end = span.Length;
        var padding = (span[0] & 0x20) != 0;
        if (padding)
        {
            var count = span[^1];
            if (count == 0 || end - count < offset)
                return Fail($"The padding count {count} does not fit in the packet.", out error);
            end -= count;
        }
        var csrcs = new uint[csrcCount];
        for (var i = 0; i < csrcCount; i++) csrcs[i] = BinaryPrimitives.ReadUInt32BigEndian(span[(12 + 4 * i)..]);
        packet = new RtpPacket
        {
            Version = 2,
            Padding = padding,
            Extension = extension,
            Marker = (span[1] & 0x80) != 0,
            PayloadType = (byte)(span[1] & 0x7F),
            SequenceNumber = BinaryPrimitives.ReadUInt16BigEndian(span[2..]),
            Timestamp = BinaryPrimitives.ReadUInt32BigEndian(span[4..]),
            Ssrc = BinaryPrimitives.ReadUInt32BigEndian(span[8..]),
            Csrcs = csrcs,
            Payload = datagram[offset..end],
        };
        error = "";
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = "Not an RTP packet: " + reason;
        return false;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RTP v{Version} PT={PayloadType} seq={SequenceNumber} ts={Timestamp} ssrc={Ssrc:X8}{(Marker ? " M" : "")} {Payload.Length} B payload");
}

/// <summary>
/// Packs an RTP packet's header fields into the first <see cref="RtpPacket.HeaderLength"/> bytes of
/// <c>header</c>: the student's part of the server. null in the options = <see cref="RtpPacket.WriteHeader"/>.
/// </summary>
public delegate void RtpHeaderWriter(RtpPacket packet, Span<byte> header);

using System.Buffers.Binary;

namespace NetLabs.Video;

/// <summary>
/// RTP's JPEG payload format (RFC 2435): each packet starts with an 8-byte JPEG header
/// <code>
/// | type-specific |              fragment offset                  |
/// |     type      |       Q       |     width/8   |    height/8   |
/// </code>
/// and the first packet of a frame with Q ≥ 128 also carries the quantization tables
/// (<c>MBZ | precision | length</c>, then the tables). The rest is the frame's scan data, cut at any byte.
/// </summary>
public static class JpegPayload
{
    public const int HeaderLength = 8;
    /// <summary>Q = 255: the quantization tables travel in-band in each frame's first packet.</summary>
    public const byte InBandTablesQ = 255;
    /// <summary>An RTP payload that stays inside a 1500-byte Ethernet MTU with IP, UDP and RTP headers.</summary>
    public const int DefaultMaxPayload = 1400;

    /// <summary>The payloads of one frame, in order; the last one gets the RTP marker bit.</summary>
    public static List<byte[]> Packetize(JpegImage image, int maxPayload = DefaultMaxPayload)
    {
        var tablesHeader = 4 + image.QuantizationTables.Length;
        if (maxPayload < HeaderLength + tablesHeader + 1)
            throw new ArgumentOutOfRangeException(nameof(maxPayload), maxPayload, "Too small for the JPEG and table headers.");
        var payloads = new List<byte[]>();
        var scan = image.ScanData.Span;
        var offset = 0;
        do
        {
            var first = offset == 0;
            var headers = HeaderLength + (first ? tablesHeader : 0);
            var chunk = Math.Min(maxPayload - headers, scan.Length - offset);
            var payload = new byte[headers + chunk];
            payload[0] = 0; // type-specific
            payload[1] = (byte)(offset >> 16);
            payload[2] = (byte)(offset >> 8);
            payload[3] = (byte)offset;
            payload[4] = image.Type;
            payload[5] = InBandTablesQ;
            payload[6] = (byte)(image.Width / 8);
            payload[7] = (byte)(image.Height / 8);
            if (first)
            {
                payload[8] = 0; // MBZ
                payload[9] = 0; // precision: 8-bit tables
                BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(10), (ushort)image.QuantizationTables.Length);
                image.QuantizationTables.CopyTo(payload, 12);
            }
            scan.Slice(offset, chunk).CopyTo(payload.AsSpan(headers));
            payloads.Add(payload);
            offset += chunk;
        } while (offset < scan.Length);
        return payloads;
    }
}

/// <summary>The fields of one RFC 2435 packet's headers, and where its piece of scan data is.</summary>
public readonly record struct JpegFragment(int FragmentOffset, byte Type, byte Q, int Width, int Height, byte[]? QuantizationTables, ReadOnlyMemory<byte> Data)
{
    /// <summary>Reads an RTP payload of type 26; <see cref="RtpFormatException"/> when it is too short or not RFC 2435.</summary>
    public static JpegFragment Parse(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        if (span.Length < JpegPayload.HeaderLength)
            throw new RtpFormatException($"A JPEG payload needs its 8-byte header; this one has {span.Length} bytes.");
        var offset = span[1] << 16 | span[2] << 8 | span[3];
        var type = span[4];
        var q = span[5];
        if (type is not (0 or 1))
            throw new RtpFormatException($"JPEG payload type {type} is not supported (0 = 4:2:2 and 1 = 4:2:0 are).");
        if (q == 0) throw new RtpFormatException("JPEG payload with Q = 0, which RFC 2435 reserves.");
        var width = span[6] * 8;
        var height = span[7] * 8;
        if (width == 0 || height == 0) throw new RtpFormatException("JPEG payload with a width or height of 0.");
        var dataStart = JpegPayload.HeaderLength;
        byte[]? tables = null;
        if (q >= 128 && offset == 0)
        {
            if (span.Length < dataStart + 4) throw new RtpFormatException("The JPEG payload ends inside its quantization table header.");
            var precision = span[dataStart + 1];
            var length = BinaryPrimitives.ReadUInt16BigEndian(span[(dataStart + 2)..]);
            if (precision != 0 || length is not (64 or 128))
                throw new RtpFormatException($"Quantization tables of {length} bytes with precision {precision}: 8-bit tables (128 bytes, or 64 for one shared table) expected.");
            if (span.Length < dataStart + 4 + length) throw new RtpFormatException("The JPEG payload ends inside its quantization tables.");
            var carried = span.Slice(dataStart + 4, length);
            // Some senders (VLC) send a single table when the JPEG had one: luma and chroma then share it.
            tables = length == 128 ? carried.ToArray() : [.. carried, .. carried];
            dataStart += 4 + length;
        }
        else if (q < 128)
        {
            tables = JpegHeaders.StandardTables(q);
        }
        return new JpegFragment(offset, type, q, width, height, tables, payload[dataStart..]);
    }
}

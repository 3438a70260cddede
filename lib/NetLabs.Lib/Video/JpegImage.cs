using System.Buffers.Binary;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>A JPEG that RTP's JPEG payload (RFC 2435) cannot carry, or a file that is not a clip.</summary>
public sealed class VideoClipException(string message) : NetLabsException(message);

/// <summary>
/// A baseline JPEG frame taken apart the way RFC 2435 sends it: the receiver rebuilds every header from a few
/// numbers (type, size, quantization tables), so only the entropy-coded scan data travels with them. That works for
/// the JPEGs RFC 2435 describes: baseline, 8-bit, three components YCbCr with 4:2:2 (type 0) or 4:2:0 (type 1)
/// sampling, the standard Huffman tables, no restart markers.
/// </summary>
public sealed class JpegImage
{
    private JpegImage(byte type, int width, int height, byte[] quantizationTables, ReadOnlyMemory<byte> scanData, ReadOnlyMemory<byte> file)
    {
        Type = type;
        Width = width;
        Height = height;
        QuantizationTables = quantizationTables;
        ScanData = scanData;
        File = file;
    }

    /// <summary>RFC 2435 type: 0 = 4:2:2 (YUV, chroma halved horizontally), 1 = 4:2:0 (halved both ways).</summary>
    public byte Type { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>Luma then chroma table, 64 bytes each, in the zig-zag order of the JPEG's DQT segments.</summary>
    public byte[] QuantizationTables { get; }
    /// <summary>The entropy-coded data after the SOS header, up to (not including) EOI.</summary>
    public ReadOnlyMemory<byte> ScanData { get; }
    /// <summary>The whole JPEG file.</summary>
    public ReadOnlyMemory<byte> File { get; }

    /// <summary>Takes a JPEG file apart; <see cref="VideoClipException"/> says what RFC 2435 cannot carry.</summary>
    public static JpegImage Parse(ReadOnlyMemory<byte> file)
    {
        var span = file.Span;
        if (span.Length < 4 || span[0] != 0xFF || span[1] != 0xD8)
            throw new VideoClipException("Not a JPEG image: it does not start with the SOI marker FF D8.");
        var tables = new byte[4][];
        int width = 0, height = 0, type = -1;
        var componentTables = new int[3];
        var position = 2;
        while (true)
        {
            if (position + 4 > span.Length || span[position] != 0xFF)
                throw new VideoClipException($"The JPEG is damaged: no marker at byte {position}.");
            var marker = span[position + 1];
            if (marker == 0xFF) { position++; continue; } // fill byte
            var length = BinaryPrimitives.ReadUInt16BigEndian(span[(position + 2)..]);
            var segment = position + 4;
            var end = position + 2 + length;
            if (length < 2 || end > span.Length)
                throw new VideoClipException($"The JPEG is damaged: segment FF{marker:X2} at byte {position} runs past the end.");
            switch (marker)
            {
                case 0xDB: // DQT: one or more tables
                    for (var p = segment; p < end;)
                    {
                        var precision = span[p] >> 4;
                        var id = span[p] & 0x0F;
                        if (precision != 0 || id > 3 || p + 65 > end)
                            throw new VideoClipException("RFC 2435 carries 8-bit quantization tables only; this JPEG has 16-bit ones.");
                        tables[id] = span.Slice(p + 1, 64).ToArray();
                        p += 65;
                    }
                    break;
                case 0xC0: // SOF0: baseline
                    if (span[segment] != 8 || span[segment + 5] != 3)
                        throw new VideoClipException("RFC 2435 carries 8-bit, three-component (YCbCr) JPEGs only.");
                    height = BinaryPrimitives.ReadUInt16BigEndian(span[(segment + 1)..]);
                    width = BinaryPrimitives.ReadUInt16BigEndian(span[(segment + 3)..]);
                    for (var c = 0; c < 3; c++) componentTables[c] = span[segment + 6 + 3 * c + 2];
                    var luma = span[segment + 7];
                    var chroma1 = span[segment + 10];
                    var chroma2 = span[segment + 13];
                    type = (luma, chroma1, chroma2) switch
                    {
                        (0x21, 0x11, 0x11) => 0,
                        (0x22, 0x11, 0x11) => 1,
                        _ => throw new VideoClipException($"RFC 2435 carries 4:2:2 or 4:2:0 sampling only (luma sampling {luma:X2}); encode with -pix_fmt yuvj420p."),
                    };
                    break;
                case 0xC1 or 0xC2 or 0xC3 or 0xC5 or 0xC6 or 0xC7 or 0xC9 or 0xCA or 0xCB or 0xCD or 0xCE or 0xCF:
                    throw new VideoClipException("RFC 2435 carries baseline JPEGs only; this one is progressive, lossless or arithmetic-coded.");
                case 0xDD: // DRI
                    if (BinaryPrimitives.ReadUInt16BigEndian(span[segment..]) != 0)
                        throw new VideoClipException("This JPEG uses restart markers, which this sender does not carry (RFC 2435 types 64–127).");
                    break;
                case 0xDA: // SOS: the scan data follows its header and runs to EOI
                    if (type < 0) throw new VideoClipException("The JPEG has no baseline frame header (SOF0) before its scan.");
                    if (width is 0 or > 2040 || height is 0 or > 2040 || width % 8 != 0 || height % 8 != 0)
                        throw new VideoClipException($"RFC 2435 sends sizes in 8-pixel blocks up to 2040: {width}x{height} does not fit.");
                    var lumaTable = tables[componentTables[0]];
                    var chromaTable = tables[componentTables[1]];
                    if (lumaTable is null || chromaTable is null || componentTables[1] != componentTables[2])
                        throw new VideoClipException("The JPEG's quantization tables are missing or not one for luma and one for chroma.");
                    var scanEnd = span.Length;
                    if (span[^2] == 0xFF && span[^1] == 0xD9) scanEnd -= 2;
                    return new JpegImage((byte)type, width, height, [.. lumaTable, .. chromaTable], file[end..scanEnd], file);
            }
            position = end;
        }
    }
}

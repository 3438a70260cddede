using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Video;

/// <summary>
/// An RTP packet's fixed header drawn as RFC 3550 draws it: 32 bits a row, each field a box spanning its bits, with
/// the field's name, its value, and the bits themselves as they were on the wire.
/// </summary>
public sealed class RtpHeaderDiagram(byte[] datagram) : IHtmlDisplay
{
    private static readonly (string Name, int Bits)[] Fields =
    [
        ("V", 2), ("P", 1), ("X", 1), ("CC", 4), ("M", 1), ("PT", 7), ("sequence number", 16),
        ("timestamp", 32),
        ("SSRC", 32),
    ];

    public byte[] Datagram { get; } = datagram.Length >= RtpPacket.FixedHeaderLength
        ? datagram
        : throw new RtpFormatException($"{datagram.Length} bytes is shorter than RTP's 12-byte fixed header.");

    /// <summary>The fields in order with their values, read bit by bit from the datagram.</summary>
    public IReadOnlyList<(string Name, int FirstBit, int Bits, ulong Value)> Read()
    {
        var result = new List<(string, int, int, ulong)>();
        var bit = 0;
        foreach (var (name, bits) in Fields)
        {
            ulong value = 0;
            for (var i = 0; i < bits; i++) value = value << 1 | Bit(bit + i);
            result.Add((name, bit, bits, value));
            bit += bits;
        }
        return result;
    }

    private ulong Bit(int index) => (ulong)(Datagram[index / 8] >> (7 - index % 8) & 1);

    public string ToHtml()
    {
        var html = new StringBuilder("<table class=\"netlabs-rtp-header\" style=\"border-collapse:collapse;font-family:monospace;text-align:center\"><caption style=\"font-weight:bold;text-align:left\">RTP fixed header (RFC 3550 §5.1), bit by bit</caption><tr>");
        for (var i = 0; i < 32; i++) html.Append("<th style=\"font-weight:normal;font-size:80%;padding:0 3px\">").Append(i).Append("</th>");
        html.Append("</tr><tr>");
        var column = 0;
        foreach (var (name, first, bits, value) in Read())
        {
            var bitText = new StringBuilder();
            for (var i = 0; i < bits; i++) bitText.Append(Bit(first + i));
            var shown = name switch
            {
                "SSRC" => $"0x{value:X8}",
                "timestamp" or "sequence number" or "PT" or "CC" or "V" => value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => value == 1 ? "1 (set)" : "0",
            };
            html.Append("<td colspan=\"").Append(bits).Append("\" style=\"border:1px solid #555;padding:2px 4px;background:")
                .Append(column % 2 == 0 ? "#eef4fb" : "#f7f7f7").Append("\"><b>").Append(WebUtility.HtmlEncode(name)).Append("</b> = ")
                .Append(shown).Append("<br/><span style=\"font-size:80%;letter-spacing:1px\">").Append(bitText).Append("</span></td>");
            column++;
            if ((first + bits) % 32 == 0 && first + bits < 96) html.Append("</tr><tr>");
        }
        return html.Append("</tr></table>").ToString();
    }

    public override string ToString() => string.Join(", ", Read().Select(f => $"{f.Name}={f.Value}"));
}

using System.Buffers.Binary;
using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Icmp;

/// <summary>
/// The Internet checksum of RFC 1071, over bytes (never over text): the one's-complement of the one's-complement sum
/// of the data taken as big-endian 16-bit words, an odd last byte padded with a zero byte on the right.
/// </summary>
public static class InternetChecksum
{
    /// <summary>The checksum to put in a header whose checksum field is zero while this is computed.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => (ushort)~Sum(data);

    /// <summary>
    /// True when data that carries its own checksum is intact: the one's-complement sum of everything, checksum
    /// field included, is 0xFFFF.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> data) => Sum(data) == 0xFFFF;

    /// <summary>The one's-complement sum (carries folded back into the low 16 bits), before the final complement.</summary>
    public static ushort Sum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (uint)data[i] << 8;
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The sum worked through word by word, as the notebook shows it.</summary>
    public static ChecksumWorking Explain(ReadOnlySpan<byte> data)
    {
        var steps = new List<ChecksumStep>();
        uint sum = 0;
        for (var i = 0; i < data.Length; i += 2)
        {
            var word = i + 1 < data.Length ? BinaryPrimitives.ReadUInt16BigEndian(data[i..]) : (ushort)(data[i] << 8);
            var raw = sum + word;
            var folded = (raw & 0xFFFF) + (raw >> 16);
            steps.Add(new ChecksumStep(i, word, raw, (ushort)folded));
            sum = folded;
        }
        return new ChecksumWorking(steps, (ushort)sum, (ushort)~sum);
    }
}

/// <summary>One 16-bit word added: the running sum before folding and after the carry is added back.</summary>
public sealed record ChecksumStep(int Offset, ushort Word, uint SumWithCarry, ushort Folded);

/// <summary>The one's-complement sum, step by step, and its complement: the checksum.</summary>
public sealed record ChecksumWorking(IReadOnlyList<ChecksumStep> Steps, ushort Sum, ushort Checksum) : IHtmlDisplay
{
    public HtmlTable ToTable() => new($"One's-complement sum: 0x{Sum:X4}, checksum = ~sum = 0x{Checksum:X4}",
        ["bytes", "word", "sum + word", "carry folded back"],
        Steps.Select(s => (IReadOnlyList<string>)
        [
            string.Create(CultureInfo.InvariantCulture, $"{s.Offset}–{s.Offset + 1}"), $"0x{s.Word:X4}",
            $"0x{s.SumWithCarry:X5}", s.SumWithCarry > 0xFFFF ? $"0x{s.Folded:X4} (carry 1 added)" : $"0x{s.Folded:X4}",
        ]));

    public string ToHtml() => ToTable().ToHtml();
    public override string ToString() => $"sum 0x{Sum:X4}, checksum 0x{Checksum:X4} over {Steps.Count} words";
}

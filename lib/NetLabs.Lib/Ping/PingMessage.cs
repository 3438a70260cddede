using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace NetLabs.Ping;

/// <summary>
/// The lab's wire format: the client sends <c>Ping &lt;sequence&gt; &lt;time&gt;</c> (time = seconds since 1970, as
/// Python's <c>time.time()</c> prints it) and the server answers with the same text in upper case.
/// </summary>
public static class PingMessage
{
    /// <summary><c>Ping 3 1764149416.123456</c>.</summary>
    public static string Format(int sequence, DateTimeOffset time) =>
        string.Create(CultureInfo.InvariantCulture, $"Ping {sequence} {UnixSeconds(time):F6}");

    public static double UnixSeconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    public static DateTimeOffset FromUnixSeconds(double seconds) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    /// <summary>
    /// The sequence number of a ping or its echo (<c>Ping 3 …</c> or <c>PING 3 …</c>), or false when the datagram
    /// is not one: garbage is told apart from replies, never guessed at.
    /// </summary>
    public static bool TryParseSequence(ReadOnlySpan<byte> datagram, out int sequence)
    {
        sequence = 0;
        if (datagram.Length < 6 || !Ascii.EqualsIgnoreCase(datagram[..5], "ping "u8)) return false;
        var rest = datagram[5..];
        var end = rest.IndexOf((byte)' ');
        var number = end < 0 ? rest : rest[..end];
        return Utf8Parser.TryParse(number, out sequence, out var consumed) && consumed == number.Length && sequence >= 0;
    }

    /// <summary>What the textbook server does with <c>message.upper()</c>, byte by byte so any payload survives.</summary>
    public static byte[] ToUpperAscii(ReadOnlySpan<byte> datagram)
    {
        var upper = datagram.ToArray();
        for (var i = 0; i < upper.Length; i++)
            if (upper[i] is >= (byte)'a' and <= (byte)'z') upper[i] -= 'a' - 'A';
        return upper;
    }

    /// <summary>A printable preview of a datagram for logs (control and non-ASCII bytes shown as '.').</summary>
    public static string Preview(ReadOnlySpan<byte> datagram, int max = 60)
    {
        var text = new StringBuilder(Math.Min(datagram.Length, max) + 1);
        foreach (var b in datagram[..Math.Min(datagram.Length, max)])
            text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        if (datagram.Length > max) text.Append('…');
        return text.ToString();
    }
}

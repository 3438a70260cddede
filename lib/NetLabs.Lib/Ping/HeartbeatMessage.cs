using System.Globalization;
using System.Text;

namespace NetLabs.Ping;

/// <summary>
/// A heartbeat datagram: <c>Heartbeat &lt;client id&gt; &lt;sequence&gt; &lt;time&gt;</c>, time in seconds since 1970
/// (as in the ping lab). The id tells apart two clients behind one address; the sequence reveals gaps and reordering;
/// the time gives the one-way delay (exact on one machine, offset by the clock difference across two).
/// </summary>
public sealed record HeartbeatMessage(string ClientId, long Sequence, DateTimeOffset SentAt)
{
    public string Format() => string.Create(CultureInfo.InvariantCulture, $"Heartbeat {ClientId} {Sequence} {PingMessage.UnixSeconds(SentAt):F6}");

    public static bool TryParse(ReadOnlySpan<byte> datagram, out HeartbeatMessage? message)
    {
        message = null;
        if (datagram.Length > 512) return false;
        var parts = Encoding.ASCII.GetString(datagram).Split(' ');
        if (parts.Length != 4 || parts[0] != "Heartbeat" || parts[1].Length == 0
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !double.TryParse(parts[3], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
            return false;
        message = new HeartbeatMessage(parts[1], sequence, PingMessage.FromUnixSeconds(seconds));
        return true;
    }
}

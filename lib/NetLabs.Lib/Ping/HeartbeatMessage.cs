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
    /// <summary>The longest client id the server accepts.</summary>
    public const int MaxClientIdLength = 64;

    /// <summary>The longest heartbeat datagram the server reads; anything longer is not a heartbeat.</summary>
    public const int MaxLength = 512;

    public string Format() => string.Create(CultureInfo.InvariantCulture, $"Heartbeat {ClientId} {Sequence} {PingMessage.UnixSeconds(SentAt):F6}");

    /// <summary>
    /// Why <paramref name="clientId"/> cannot be a client id, or null when it can. The one rule the server, the client
    /// and the <c>netlabs</c> command share: 1 to <see cref="MaxClientIdLength"/> printable ASCII characters, no spaces
    /// (the id is one word of an ASCII datagram).
    /// </summary>
    public static string? ClientIdProblem(string? clientId) => clientId switch
    {
        null or "" => "A client id cannot be empty.",
        { Length: > MaxClientIdLength } => $"A client id is at most {MaxClientIdLength} characters (this one has {clientId.Length}).",
        _ when clientId.Any(c => c is <= ' ' or > '~') => $"A client id is one word of printable ASCII letters, digits and signs (no spaces, no accents): '{Printable(clientId)}' is not.",
        _ => null,
    };

    public static bool TryParse(ReadOnlySpan<byte> datagram, out HeartbeatMessage? message)
    {
        message = null;
        if (datagram.Length > MaxLength) return false;
        var parts = Encoding.Latin1.GetString(datagram).Split(' ');
        if (parts.Length != 4 || parts[0] != "Heartbeat" || ClientIdProblem(parts[1]) is not null
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !double.TryParse(parts[3], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            || !(seconds < MaxUnixSeconds))
            return false;
        message = new HeartbeatMessage(parts[1], sequence, PingMessage.FromUnixSeconds(seconds));
        return true;
    }

    // The latest time a DateTimeOffset holds (year 9999): a larger carried time is not a time.
    private static readonly double MaxUnixSeconds = (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).TotalSeconds - 1;

    private static string Printable(string text) =>
        string.Concat(text.Take(20).Select(c => c is >= ' ' and <= '~' ? c : '?')) + (text.Length > 20 ? "…" : "");
}

using System.Net;
using System.Net.Sockets;

namespace NetLabs.Cli.CommandLine;

/// <summary>Host names to addresses, with the one-line errors a student understands.</summary>
public static class Endpoints
{
    public static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var literal)) return literal;
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new CliFailure($"host '{host}' has no address.");
        }
        catch (SocketException)
        {
            throw new CliFailure($"host '{host}' not found (check the name or use its IP address).");
        }
    }

    /// <summary>
    /// Parses durations such as "1s", "250ms", "0.5" (seconds), between <paramref name="min"/> (default 0) and
    /// <paramref name="max"/> (default a day): anything else, "1e12" included, is a one-line error, never an overflow.
    /// </summary>
    public static TimeSpan Duration(string text, string option, TimeSpan? min = null, TimeSpan? max = null)
    {
        text = text.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : (text, 1.0);
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value < 0)
            throw new CliFailure($"{option} '{text}' is not a duration (e.g. 1s, 250ms).", 2);
        var (least, most) = (min ?? TimeSpan.Zero, max ?? TimeSpan.FromDays(1));
        var seconds = value * scale;
        if (!(seconds >= least.TotalSeconds && seconds <= most.TotalSeconds))
            throw new CliFailure($"{option} '{text}' is out of range: give from {Show(least)} to {Show(most)}.", 2);
        return TimeSpan.FromSeconds(seconds);
    }

    private static string Show(TimeSpan duration) => duration switch
    {
        { Ticks: 0 } => "0",
        { TotalSeconds: < 1 } => Number(duration.TotalMilliseconds) + " ms",
        { TotalMinutes: < 1 } => Number(duration.TotalSeconds) + " s",
        { TotalHours: < 1 } => Number(duration.TotalMinutes) + " min",
        { TotalDays: < 1 } => Number(duration.TotalHours) + " h",
        _ => Number(duration.TotalDays) + " days",
    };

    private static string Number(double value) => value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}

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

    /// <summary>Parses durations such as "1s", "250ms", "0.5" (seconds).</summary>
    public static TimeSpan Duration(string text, string option)
    {
        text = text.Trim();
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : (text, 1.0);
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new CliFailure($"{option} '{text}' is not a duration (e.g. 1s, 250ms).", 2);
        return TimeSpan.FromSeconds(value * scale);
    }
}

using System.Net;
using NetLabs.Hosting;

namespace NetLabs.Ping;

/// <summary>How added delay is spread around its constant part.</summary>
public enum JitterDistribution
{
    /// <summary>No jitter: every echo waits exactly <see cref="PingServerOptions.Delay"/>.</summary>
    None,
    /// <summary>Uniform between 0 and <see cref="PingServerOptions.Jitter"/>.</summary>
    Uniform,
    /// <summary>Exponential with mean <see cref="PingServerOptions.Jitter"/> (a long tail, like queueing).</summary>
    Exponential,
    /// <summary>Half-normal with scale <see cref="PingServerOptions.Jitter"/> (|N(0, σ²)|).</summary>
    Normal,
}

/// <summary>
/// What a teacher can turn on the ping server. The defaults are the textbook server: every datagram echoed in upper
/// case, and dropped when <c>random.randint(0, 10) &lt; 4</c>, i.e. with probability 4/11.
/// </summary>
public sealed record PingServerOptions
{
    /// <summary>The textbook's drop rule: randint(0, 10) draws one of 11 values, 4 of them (0–3) drop.</summary>
    public const double TextbookLossProbability = 4.0 / 11.0;

    /// <summary>Loopback by default: a lab server is not exposed to the network unless asked.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>The textbook's port.</summary>
    public const int LabPort = 12000;

    /// <summary>0 = any free port (see <c>PingServer.EndPoint</c>); the textbook uses <see cref="LabPort"/>.</summary>
    public int Port { get; init; }
    public double LossProbability { get; init; } = TextbookLossProbability;
    /// <summary>Seed for loss, jitter and duplicates, for reproducible runs; null = a different run each time.</summary>
    public int? Seed { get; init; }
    /// <summary>Constant delay added before each echo.</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.Zero;
    /// <summary>Scale of the random part of the delay (see <see cref="JitterDistribution"/>).</summary>
    public TimeSpan Jitter { get; init; } = TimeSpan.Zero;
    public JitterDistribution JitterDistribution { get; init; } = JitterDistribution.Uniform;
    /// <summary>Probability that an echoed datagram is sent twice.</summary>
    public double DuplicateProbability { get; init; }
    /// <summary>How many log entries are kept for display (the counters count everything).</summary>
    public int LogCapacity { get; init; } = 1000;
    /// <summary>
    /// How many bytes of delayed echoes may wait at once; beyond that a ping is dropped, as a full router queue drops.
    /// Bounds the server's memory when a flood meets a long <see cref="Delay"/>.
    /// </summary>
    public long MaxDelayedBytes { get; init; } = 64L << 20;

    /// <summary>No loss, no delay: an echo server for measurements.</summary>
    public static PingServerOptions Lossless => new() { LossProbability = 0 };

    /// <summary>The longest <see cref="Delay"/> or <see cref="Jitter"/> the server takes.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromHours(1);

    internal void Validate()
    {
        Probability(LossProbability, nameof(LossProbability));
        Probability(DuplicateProbability, nameof(DuplicateProbability));
        Duration(Delay, nameof(Delay));
        Duration(Jitter, nameof(Jitter));
        if (LogCapacity < 0) throw new ServerStartException($"LogCapacity is {LogCapacity}: give 0 (keep no log) or more.");
        if (MaxDelayedBytes < 0) throw new ServerStartException($"MaxDelayedBytes is {MaxDelayedBytes}: give 0 (no delayed echo waits) or more.");
    }

    private static void Probability(double value, string name)
    {
        if (!(value is >= 0 and <= 1)) throw new ServerStartException($"{name} is {value}: a probability is between 0 and 1.");
    }

    private static void Duration(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero || value > MaxDelay) throw new ServerStartException($"{name} is {value}: give between 0 and {MaxDelay.TotalMinutes:0} minutes.");
    }
}

using System.Net;
using NetLabs.Hosting;

namespace NetLabs.Ping;

public sealed record HeartbeatServerOptions
{
    /// <summary>The port the lab's heartbeat part uses (the ping server's 12000, plus one).</summary>
    public const int LabPort = 12001;

    /// <summary>Loopback by default: a lab server is not exposed to the network unless asked.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>0 = any free port (see <c>HeartbeatServer.EndPoint</c>).</summary>
    public int Port { get; init; }
    /// <summary>Silence after which a client is declared stopped.</summary>
    public TimeSpan StoppedAfter { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>How many events are kept for display (the counters count everything).</summary>
    public int LogCapacity { get; init; } = 10_000;
    /// <summary>How many clients are tracked at once; a new one beyond that makes the server forget the longest silent.</summary>
    public int MaxClients { get; init; } = 1_000;
    /// <summary>
    /// How many of a client's most recent missing sequence numbers are remembered, so that one arriving late is told
    /// apart as reordered. Older gaps are only counted.
    /// </summary>
    public int MissingWindow { get; init; } = 256;

    internal void Validate()
    {
        if (StoppedAfter <= TimeSpan.Zero || StoppedAfter > TimeSpan.FromDays(1))
            throw new ServerStartException($"StoppedAfter is {StoppedAfter}: the silence after which a client counts as stopped must be more than 0 and at most a day (the lab uses 3 s).");
        if (LogCapacity < 0) throw new ServerStartException($"LogCapacity is {LogCapacity}: give 0 (keep no events) or more.");
        if (MaxClients < 1) throw new ServerStartException($"MaxClients is {MaxClients}: the server must track at least one client.");
        if (MissingWindow < 0) throw new ServerStartException($"MissingWindow is {MissingWindow}: give 0 (count gaps only) or more.");
    }
}

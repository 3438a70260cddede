using System.Globalization;
using System.Net;

namespace NetLabs.Ping;

/// <summary>Who sends heartbeats: the address they come from and the id they carry.</summary>
public sealed record HeartbeatClientKey(IPEndPoint EndPoint, string Id)
{
    public override string ToString() => $"{Id}@{EndPoint}";
}

public enum HeartbeatEventKind
{
    /// <summary>The first heartbeat of a client (or the first after it was declared stopped).</summary>
    Started,
    Received,
    /// <summary>A gap in the sequence: one event per gap, <see cref="HeartbeatEvent.Count"/> heartbeats missing from <see cref="HeartbeatEvent.Sequence"/> on.</summary>
    Lost,
    /// <summary>A heartbeat that had been counted lost arrived after a later one.</summary>
    Reordered,
    Duplicate,
    /// <summary>No heartbeat for <see cref="HeartbeatServerOptions.StoppedAfter"/>: the client is taken to have stopped.</summary>
    Stopped,
    /// <summary>A datagram that is not a heartbeat.</summary>
    Invalid,
    /// <summary>
    /// The client started over: its sequence went back (to 1, typically) with a newer timestamp than any it sent
    /// before. Its counts start again from this heartbeat.
    /// </summary>
    Restarted,
}

/// <summary>
/// Something the heartbeat server noticed (the heartbeat server's log entry); <see cref="At"/> is time since the
/// server started. <see cref="Count"/> is how many heartbeats the event stands for: 1, or the size of a gap.
/// </summary>
public sealed record HeartbeatEvent(TimeSpan At, HeartbeatEventKind Kind, HeartbeatClientKey Client, long Sequence, TimeSpan? Delay, long Count = 1)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{At.TotalSeconds,8:F3}s {Kind,-9} {Client} seq {Sequence}{(Count > 1 ? $" (+{Count - 1} more)" : "")}{(Delay is { } d ? $" delay {d.TotalMilliseconds:F3} ms" : "")}");
}

/// <summary>What the server knows of one client.</summary>
public sealed record HeartbeatClientSummary(HeartbeatClientKey Client, long Received, long Lost, long Reordered, long Duplicates,
    long HighestSequence, TimeSpan? LastDelay, TimeSpan? MeanDelay, bool Stopped, long Restarts = 0);

/// <summary>Running totals of the heartbeat server, over every client it ever tracked.</summary>
public sealed record HeartbeatServerCounters(long Datagrams, long Invalid, long Received, long Lost, long Reordered, long Duplicates,
    long Restarts, long Stopped, int Clients, long ClientsForgotten);

namespace NetLabs.Hosting;

/// <summary>Where a <see cref="LabServer{TLogEntry, TCounters}"/> is in its life: it only ever moves forward.</summary>
public enum ServerState
{
    /// <summary>Bound and serving (a server is running as soon as its <c>Start</c> returns).</summary>
    Running,
    /// <summary><c>StopAsync</c> was called: no new clients, the ones in flight are drained.</summary>
    Stopping,
    /// <summary>Everything is closed; <c>Completion</c> has completed.</summary>
    Stopped,
}

using System.Net;
using NetLabs.Display;

namespace NetLabs.Hosting;

/// <summary>
/// The one shape of every lab server (web, ping, heartbeat, mail, and the labs to come):
/// <list type="bullet">
/// <item>a static <c>Start(options)</c> that returns a running server or throws <see cref="ServerStartException"/>;</item>
/// <item><see cref="EndPoint"/>, <see cref="State"/>, <see cref="Completion"/>;</item>
/// <item><see cref="StopAsync"/>: idempotent (every call returns the same stop), drains for a bounded time, then closes;</item>
/// <item>one log: <see cref="Log"/> keeps the latest entries (<see cref="BoundedLog{T}"/>), <see cref="Logged"/> raises each;</item>
/// <item>one counters record, <see cref="Counters"/>, counting everything (the log only keeps the latest);</item>
/// <item>shown in a notebook as HTML (<see cref="IHtmlDisplay"/>), never writing to the console by itself.</item>
/// </list>
/// A derived server implements <see cref="StopCoreAsync"/>, <see cref="Counters"/> and <see cref="ToHtml"/>, and calls
/// <see cref="Record"/> for each log entry.
/// </summary>
public abstract class LabServer<TLogEntry, TCounters> : IAsyncDisposable, IHtmlDisplay
{
    private readonly BoundedLog<TLogEntry> _log;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _stopLock = new();
    private Task? _stopping;

    protected LabServer(IPEndPoint endPoint, int logCapacity, TimeSpan defaultDrain)
    {
        EndPoint = endPoint;
        DefaultDrain = defaultDrain;
        _log = new BoundedLog<TLogEntry>(logCapacity);
    }

    /// <summary>The address and port actually bound (the chosen port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }
    public int Port => EndPoint.Port;

    /// <summary>How long <see cref="StopAsync"/> lets work in flight finish when no drain is given.</summary>
    public TimeSpan DefaultDrain { get; }

    public ServerState State => _stopped.Task.IsCompleted ? ServerState.Stopped : Volatile.Read(ref _stopping) is null ? ServerState.Running : ServerState.Stopping;
    public bool IsStopping => State != ServerState.Running;

    /// <summary>Completes when the server has stopped.</summary>
    public Task Completion => _stopped.Task;

    /// <summary>The latest log entries, oldest first (as many as the options' log capacity).</summary>
    public IReadOnlyList<TLogEntry> Log => _log.Snapshot();

    /// <summary>Forgets the kept log entries; counters stay.</summary>
    public void ClearLog() => _log.Clear();

    /// <summary>
    /// Raised for every log entry as it happens, on a server thread: keep handlers short. A handler that throws is
    /// ignored (it never stops the server), and <see cref="LogHandlerFailures"/> counts it.
    /// </summary>
    public event Action<TLogEntry>? Logged;

    /// <summary>Running totals of everything the server did.</summary>
    public abstract TCounters Counters { get; }

    /// <summary>How many times a <see cref="Logged"/> handler threw.</summary>
    public long LogHandlerFailures => Interlocked.Read(ref _logHandlerFailures);
    private long _logHandlerFailures;

    /// <summary>True when somebody keeps or watches the log: servers skip building entries otherwise (it matters at 100 000 messages/s).</summary>
    protected bool IsLogging => _log.Capacity > 0 || Logged is not null;

    /// <summary>Keeps <paramref name="entry"/> and raises <see cref="Logged"/>.</summary>
    protected void Record(TLogEntry entry)
    {
        _log.Add(entry);
        try
        {
            Logged?.Invoke(entry);
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _logHandlerFailures);
        }
    }

    /// <summary>
    /// Stops taking new work, lets work in flight finish for up to <paramref name="drain"/> (default:
    /// <see cref="DefaultDrain"/>), then closes everything. Every call returns the same stop; the token only ends the
    /// caller's wait, never the stop itself.
    /// </summary>
    public Task StopAsync(TimeSpan? drain = null, CancellationToken cancellationToken = default)
    {
        Task stopping;
        lock (_stopLock)
            stopping = _stopping ??= StopOnceAsync(drain ?? DefaultDrain);
        return stopping.WaitAsync(cancellationToken);
    }

    private async Task StopOnceAsync(TimeSpan drain)
    {
        await Task.Yield(); // the caller gets its task back before any stopping work runs (no re-entrancy under the lock)
        try
        {
            await StopCoreAsync(drain).ConfigureAwait(false);
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>The server's own stopping: close the listener, drain for at most <paramref name="drain"/>, close the rest.</summary>
    protected abstract Task StopCoreAsync(TimeSpan drain);

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    public abstract string ToHtml();
}

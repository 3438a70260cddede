using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Ping;

/// <summary>
/// The heartbeat server of the lab's optional part: tracks each client on its own, computes the delay from the
/// carried timestamp, counts gaps as lost (and takes them back when they turn up late, as reordered), notes
/// duplicates and restarts, and raises <see cref="ClientStopped"/> when a client falls silent. Its log entries are
/// <see cref="HeartbeatEvent"/>s. Whatever clients send, it tracks at most <see cref="HeartbeatServerOptions.MaxClients"/>
/// clients, each in bounded memory (<see cref="HeartbeatClientTracker"/>).
/// </summary>
public sealed class HeartbeatServer : LabServer<HeartbeatEvent, HeartbeatServerCounters>
{
    private readonly Socket _socket;
    private readonly Dictionary<HeartbeatClientKey, HeartbeatClientTracker> _clients = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _loop;
    private readonly Task _watchdog;
    private long _datagrams, _invalid, _received, _lost, _reordered, _duplicates, _restarts, _stopped, _forgotten;

    private HeartbeatServer(HeartbeatServerOptions options, Socket socket)
        : base((IPEndPoint)socket.LocalEndPoint!, options.LogCapacity, defaultDrain: TimeSpan.Zero)
    {
        Options = options;
        _socket = socket;
        _loop = UdpReceiveLoop.Start(_socket, OnDatagram, null, $"heartbeat server {EndPoint}", _stop.Token);
        _watchdog = Task.Run(WatchSilenceAsync);
    }

    /// <summary>Binds and starts serving in the background; throws <see cref="ServerStartException"/> saying how to fix what went wrong.</summary>
    public static HeartbeatServer Start(HeartbeatServerOptions? options = null)
    {
        options ??= new HeartbeatServerOptions();
        options.Validate();
        return new HeartbeatServer(options, Listener.BindUdp(options.Address, options.Port, "the heartbeat server", HeartbeatServerOptions.LabPort));
    }

    public HeartbeatServerOptions Options { get; }

    /// <summary>A client fell silent for <see cref="HeartbeatServerOptions.StoppedAfter"/>.</summary>
    public event Action<HeartbeatClientSummary>? ClientStopped;

    public IReadOnlyList<HeartbeatClientSummary> Clients { get { lock (_clients) return _clients.Values.Select(t => t.Summary()).ToArray(); } }

    public override HeartbeatServerCounters Counters
    {
        get
        {
            lock (_clients)
                return new(_datagrams, _invalid, _received, _lost, _reordered, _duplicates, _restarts, _stopped, _clients.Count, _forgotten);
        }
    }

    /// <summary>How many missing sequence numbers the server remembers for each client (for tests: bounded by the window).</summary>
    internal IReadOnlyList<int> RememberedMissing() { lock (_clients) return _clients.Values.Select(c => c.RememberedMissing).ToArray(); }

    /// <summary>Waits until <paramref name="clientId"/> is declared stopped (or the timeout passes: then false).</summary>
    public async Task<bool> WaitForStoppedAsync(string clientId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStopped(HeartbeatClientSummary s) { if (s.Client.Id == clientId) stopped.TrySetResult(); }
        ClientStopped += OnStopped;
        try
        {
            if (Clients.Any(c => c.Client.Id == clientId && c.Stopped)) return true;
            await stopped.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException) { return false; }
        finally { ClientStopped -= OnStopped; }
    }

    private void OnDatagram(ReadOnlyMemory<byte> datagram, IPEndPoint from, long receivedTimestamp)
    {
        var arrived = DateTimeOffset.UtcNow;
        var at = Elapsed(receivedTimestamp);
        var events = new List<HeartbeatEvent>(3);
        lock (_clients)
        {
            _datagrams++;
            if (!HeartbeatMessage.TryParse(datagram.Span, out var message))
            {
                _invalid++;
                events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Invalid, new HeartbeatClientKey(from, "?"), -1, null));
            }
            else
                Track(new HeartbeatClientKey(from, message!.ClientId)).Take(message, arrived - message.SentAt, at, receivedTimestamp, events);
            foreach (var e in events) CountEvent(e);
        }
        foreach (var e in events) Record(e); // outside the lock: a slow Logged handler never holds up the watchdog or readers
    }

    /// <summary>The tracker of <paramref name="key"/>; a new one forgets the longest-silent client when the table is full.</summary>
    private HeartbeatClientTracker Track(HeartbeatClientKey key)
    {
        if (_clients.TryGetValue(key, out var tracker)) return tracker;
        if (_clients.Count >= Options.MaxClients)
        {
            var silent = _clients.Values.MinBy(c => c.LastSeen)!;
            _clients.Remove(silent.Key);
            _forgotten++;
        }
        return _clients[key] = new HeartbeatClientTracker(key, Options.MissingWindow);
    }

    private void CountEvent(HeartbeatEvent e)
    {
        switch (e.Kind)
        {
            case HeartbeatEventKind.Received: _received++; break;
            case HeartbeatEventKind.Reordered: _received++; _reordered++; break;
            case HeartbeatEventKind.Lost: _lost += e.Count; break;
            case HeartbeatEventKind.Duplicate: _duplicates++; break;
            case HeartbeatEventKind.Restarted: _restarts++; break;
            case HeartbeatEventKind.Stopped: _stopped++; break;
        }
    }

    private async Task WatchSilenceAsync()
    {
        var period = TimeSpan.FromTicks(Math.Clamp(Options.StoppedAfter.Ticks / 10, TimeSpan.TicksPerMillisecond * 5, TimeSpan.TicksPerMillisecond * 200));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                List<HeartbeatClientSummary> stopped = [];
                lock (_clients)
                {
                    foreach (var client in _clients.Values)
                        if (!client.Stopped && Stopwatch.GetElapsedTime(client.LastSeen, now) >= Options.StoppedAfter && client.MarkStopped())
                        {
                            stopped.Add(client.Summary());
                            _stopped++;
                        }
                }
                foreach (var summary in stopped)
                {
                    Record(new HeartbeatEvent(Elapsed(now), HeartbeatEventKind.Stopped, summary.Client, summary.HighestSequence, null));
                    try { ClientStopped?.Invoke(summary); }
                    catch (Exception) { } // a faulty handler never stops the watchdog
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private TimeSpan Elapsed(long timestamp) => Stopwatch.GetElapsedTime(_started, timestamp);

    /// <summary>Stops receiving and watching; nothing is in flight to drain (every heartbeat is handled as it arrives).</summary>
    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loop, _watchdog).ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
    }

    public HtmlTable ToTable() => new($"Heartbeat server on {EndPoint}",
        ["client", "received", "lost", "reordered", "duplicates", "restarts", "highest seq", "mean delay (ms)", "state"],
        Clients.Select(c => (IReadOnlyList<string>)
        [
            c.Client.ToString(), Number(c.Received), Number(c.Lost), Number(c.Reordered), Number(c.Duplicates), Number(c.Restarts),
            Number(c.HighestSequence), c.MeanDelay?.TotalMilliseconds.ToString("F3", CultureInfo.InvariantCulture) ?? "–", c.Stopped ? "stopped" : "alive",
        ]));

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public override string ToHtml() => ToTable().ToHtml();

    public override string ToString() => ToTable().ToString();
}

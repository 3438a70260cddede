using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Display;

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
    /// <summary>A gap in the sequence: one event per missing sequence number.</summary>
    Lost,
    /// <summary>A heartbeat that had been counted lost arrived after a later one.</summary>
    Reordered,
    Duplicate,
    /// <summary>No heartbeat for <see cref="HeartbeatServerOptions.StoppedAfter"/>: the client is taken to have stopped.</summary>
    Stopped,
    /// <summary>A datagram that is not a heartbeat.</summary>
    Invalid,
}

/// <summary>Something the heartbeat server noticed; <see cref="At"/> is time since the server started.</summary>
public sealed record HeartbeatEvent(TimeSpan At, HeartbeatEventKind Kind, HeartbeatClientKey Client, long Sequence, TimeSpan? Delay)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{At.TotalSeconds,8:F3}s {Kind,-9} {Client} seq {Sequence}{(Delay is { } d ? $" delay {d.TotalMilliseconds:F3} ms" : "")}");
}

public sealed record HeartbeatServerOptions
{
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    public int Port { get; init; }
    /// <summary>Silence after which a client is declared stopped.</summary>
    public TimeSpan StoppedAfter { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>How many events are kept for display.</summary>
    public int EventCapacity { get; init; } = 10_000;
}

/// <summary>What the server knows of one client.</summary>
public sealed record HeartbeatClientSummary(HeartbeatClientKey Client, long Received, long Lost, long Reordered, long Duplicates,
    long HighestSequence, TimeSpan? LastDelay, TimeSpan? MeanDelay, bool Stopped);

/// <summary>
/// The heartbeat server of the lab's optional part: tracks each client on its own, computes the delay from the
/// carried timestamp, counts gaps as lost (and takes them back when they turn up late, as reordered), notes
/// duplicates, and raises <see cref="ClientStopped"/> when a client falls silent.
/// </summary>
public sealed class HeartbeatServer : IAsyncDisposable, IHtmlDisplay
{
    private sealed class Tracker(HeartbeatClientKey key)
    {
        public HeartbeatClientKey Key { get; } = key;
        public long Highest { get; set; } = -1;
        public HashSet<long> Missing { get; } = [];
        public long Received { get; set; }
        public long Reordered { get; set; }
        public long Duplicates { get; set; }
        public long LastSeen { get; set; }
        public bool Stopped { get; set; }
        public TimeSpan? LastDelay { get; set; }
        public TimeSpan DelaySum { get; set; }

        public HeartbeatClientSummary Summary() => new(Key, Received, Missing.Count, Reordered, Duplicates, Highest, LastDelay,
            Received == 0 ? null : DelaySum / Received, Stopped);
    }

    private readonly Socket _socket;
    private readonly Dictionary<HeartbeatClientKey, Tracker> _clients = new();
    private readonly List<HeartbeatEvent> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _loop;
    private readonly Task _watchdog;

    private HeartbeatServer(HeartbeatServerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.StoppedAfter.Ticks, nameof(options.StoppedAfter));
        Options = options;
        _socket = UdpReceiveLoop.Bind(options.Address, options.Port);
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = UdpReceiveLoop.Start(_socket, OnDatagram, null, $"heartbeat server {EndPoint}", _stop.Token);
        _watchdog = Task.Run(WatchSilenceAsync);
    }

    public static HeartbeatServer Start(HeartbeatServerOptions? options = null) => new(options ?? new HeartbeatServerOptions());

    public HeartbeatServerOptions Options { get; }
    public IPEndPoint EndPoint { get; }

    /// <summary>Every event as it happens (on a server thread: keep handlers short).</summary>
    public event Action<HeartbeatEvent>? EventRaised;
    /// <summary>A client fell silent for <see cref="HeartbeatServerOptions.StoppedAfter"/>.</summary>
    public event Action<HeartbeatClientSummary>? ClientStopped;

    public IReadOnlyList<HeartbeatEvent> Events { get { lock (_clients) return _events.ToArray(); } }

    public IReadOnlyList<HeartbeatClientSummary> Clients { get { lock (_clients) return _clients.Values.Select(t => t.Summary()).ToArray(); } }

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
        if (!HeartbeatMessage.TryParse(datagram.Span, out var message))
        {
            Raise(new HeartbeatEvent(Elapsed(receivedTimestamp), HeartbeatEventKind.Invalid, new HeartbeatClientKey(from, "?"), -1, null));
            return;
        }
        var key = new HeartbeatClientKey(from, message!.ClientId);
        var delay = arrived - message.SentAt;
        var at = Elapsed(receivedTimestamp);
        var raised = new List<HeartbeatEvent>();
        lock (_clients)
        {
            if (!_clients.TryGetValue(key, out var client)) _clients[key] = client = new Tracker(key);
            client.LastSeen = receivedTimestamp;
            if (client.Stopped || client.Received == 0)
            {
                client.Stopped = false;
                raised.Add(new HeartbeatEvent(at, HeartbeatEventKind.Started, key, message.Sequence, delay));
            }
            var sequence = message.Sequence;
            if (sequence > client.Highest)
            {
                // Everything between the highest seen and this one is missing, unless this is the client's first.
                if (client.Highest >= 0)
                    for (var gap = client.Highest + 1; gap < sequence; gap++)
                    {
                        client.Missing.Add(gap);
                        raised.Add(new HeartbeatEvent(at, HeartbeatEventKind.Lost, key, gap, null));
                    }
                client.Highest = sequence;
                Count(client, delay);
                raised.Add(new HeartbeatEvent(at, HeartbeatEventKind.Received, key, sequence, delay));
            }
            else if (client.Missing.Remove(sequence))
            {
                client.Reordered++;
                Count(client, delay);
                raised.Add(new HeartbeatEvent(at, HeartbeatEventKind.Reordered, key, sequence, delay));
            }
            else
            {
                client.Duplicates++;
                raised.Add(new HeartbeatEvent(at, HeartbeatEventKind.Duplicate, key, sequence, delay));
            }
        }
        foreach (var e in raised) Raise(e);
    }

    private static void Count(Tracker client, TimeSpan delay)
    {
        client.Received++;
        client.LastDelay = delay;
        client.DelaySum += delay;
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
                List<HeartbeatClientSummary> stopped;
                lock (_clients)
                {
                    stopped = [];
                    foreach (var client in _clients.Values.Where(c => !c.Stopped && Stopwatch.GetElapsedTime(c.LastSeen, now) >= Options.StoppedAfter))
                    {
                        client.Stopped = true;
                        stopped.Add(client.Summary());
                    }
                }
                foreach (var summary in stopped)
                {
                    Raise(new HeartbeatEvent(Elapsed(now), HeartbeatEventKind.Stopped, summary.Client, summary.HighestSequence, null));
                    ClientStopped?.Invoke(summary);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private TimeSpan Elapsed(long timestamp) => Stopwatch.GetElapsedTime(_started, timestamp);

    private void Raise(HeartbeatEvent e)
    {
        lock (_clients)
        {
            _events.Add(e);
            if (_events.Count > Options.EventCapacity) _events.RemoveAt(0);
        }
        EventRaised?.Invoke(e);
    }

    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested) _stop.Cancel();
        await Task.WhenAll(_loop, _watchdog).ConfigureAwait(false);
        _socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    public HtmlTable ToTable() => new($"Heartbeat server on {EndPoint}",
        ["client", "received", "lost", "reordered", "duplicates", "highest seq", "mean delay (ms)", "state"],
        Clients.Select(c => (IReadOnlyList<string>)
        [
            c.Client.ToString(), c.Received.ToString(CultureInfo.InvariantCulture), c.Lost.ToString(CultureInfo.InvariantCulture),
            c.Reordered.ToString(CultureInfo.InvariantCulture), c.Duplicates.ToString(CultureInfo.InvariantCulture),
            c.HighestSequence.ToString(CultureInfo.InvariantCulture),
            c.MeanDelay?.TotalMilliseconds.ToString("F3", CultureInfo.InvariantCulture) ?? "–", c.Stopped ? "stopped" : "alive",
        ]));

    public string ToHtml() => ToTable().ToHtml();

    public override string ToString() => ToTable().ToString();
}

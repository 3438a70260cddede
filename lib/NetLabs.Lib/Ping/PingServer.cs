using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Ping;

/// <summary>What the server did with a datagram.</summary>
public enum PingServerAction { Received, Dropped, Echoed, Duplicated }

/// <summary>One line of the server's log.</summary>
public sealed record PingServerLogEntry(TimeSpan At, PingServerAction Action, IPEndPoint Client, int Length, string Preview)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{At.TotalSeconds,9:F4}s {Action,-10} {Client} {Length} B \"{Preview}\"");
}

/// <summary>Running totals of the server (every datagram counts, the log keeps only the latest).</summary>
public sealed record PingServerCounters(long Received, long Dropped, long Echoed, long Duplicated, long Errors);

/// <summary>
/// The lab's UDP ping server: echoes each datagram in upper case, drops a random share of them, and can add delay,
/// jitter and duplicates. One socket serves any number of clients: UDP has no connections, every datagram carries
/// its sender's address and the echo goes back to it. Delayed echoes are scheduled, so a slow reply to one client
/// never holds up another.
/// </summary>
public sealed class PingServer : LabServer<PingServerLogEntry, PingServerCounters>
{
    private readonly Socket _socket;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly DelayLine? _delayLine;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly Task _loop;
    private long _received, _dropped, _echoed, _duplicated, _errors, _delayedBytes;

    private PingServer(PingServerOptions options, Socket socket)
        : base((IPEndPoint)socket.LocalEndPoint!, options.LogCapacity, defaultDrain: TimeSpan.FromSeconds(2))
    {
        Options = options;
        _socket = socket;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        if (options.Delay > TimeSpan.Zero || (options.Jitter > TimeSpan.Zero && options.JitterDistribution != JitterDistribution.None))
            _delayLine = new DelayLine($"ping server delay {EndPoint}");
        _loop = UdpReceiveLoop.Start(_socket, OnDatagram, _ => Interlocked.Increment(ref _errors), $"ping server {EndPoint}", _stop.Token);
    }

    /// <summary>
    /// Binds and starts serving in the background: <c>await using var server = PingServer.Start(new() { Seed = 1 });</c>.
    /// Throws <see cref="ServerStartException"/> saying how to fix what went wrong (a bad option, the port in use, …).
    /// </summary>
    public static PingServer Start(PingServerOptions? options = null)
    {
        options ??= new PingServerOptions();
        options.Validate();
        return new PingServer(options, Listener.BindUdp(options.Address, options.Port, "the ping server", PingServerOptions.LabPort));
    }

    public PingServerOptions Options { get; }

    public override PingServerCounters Counters => new(Interlocked.Read(ref _received), Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _echoed), Interlocked.Read(ref _duplicated), Interlocked.Read(ref _errors));

    // Runs on the receive loop only, so the seeded Random sees datagrams in arrival order: reproducible runs.
    private void OnDatagram(ReadOnlyMemory<byte> datagram, IPEndPoint client, long receivedTimestamp)
    {
        Interlocked.Increment(ref _received);
        // The log is for people; when nobody keeps or watches it, skip the work (it matters at 100 000 pings/s).
        var preview = IsLogging ? PingMessage.Preview(datagram.Span) : "";
        Record(PingServerAction.Received, client, datagram.Length, preview);
        if (datagram.Length > UdpReceiveLoop.MaxDatagram || _random.NextDouble() < Options.LossProbability)
        {
            Interlocked.Increment(ref _dropped);
            Record(PingServerAction.Dropped, client, datagram.Length, preview);
            return;
        }
        var echo = PingMessage.ToUpperAscii(datagram.Span);
        var copies = _random.NextDouble() < Options.DuplicateProbability ? 2 : 1;
        var delay = NextDelay();
        if (delay <= TimeSpan.Zero || _delayLine is null)
            Echo(echo, client, copies, preview);
        else if (Interlocked.Add(ref _delayedBytes, echo.Length) > Options.MaxDelayedBytes)
        {
            // The delay line is full: a flood must not turn into unbounded memory. Like a full router queue, drop.
            Interlocked.Add(ref _delayedBytes, -echo.Length);
            Interlocked.Increment(ref _dropped);
            Record(PingServerAction.Dropped, client, datagram.Length, preview);
        }
        else
            _delayLine.Schedule(receivedTimestamp + (long)(delay.TotalSeconds * Stopwatch.Frequency), () =>
            {
                Interlocked.Add(ref _delayedBytes, -echo.Length);
                Echo(echo, client, copies, preview);
            });
    }

    private TimeSpan NextDelay()
    {
        var jitterScale = Options.JitterDistribution switch
        {
            JitterDistribution.None => 0,
            JitterDistribution.Uniform => _random.NextDouble(),
            JitterDistribution.Exponential => -Math.Log(1 - _random.NextDouble()),
            JitterDistribution.Normal => Math.Abs(StandardNormal()),
            _ => 0,
        };
        return Options.Delay + Options.Jitter * jitterScale;
    }

    private double StandardNormal() // Box–Muller
    {
        var u1 = 1 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private void Echo(byte[] echo, IPEndPoint client, int copies, string preview)
    {
        for (var copy = 0; copy < copies; copy++)
        {
            try
            {
                _socket.SendTo(echo, SocketFlags.None, client);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _errors); // the client went away or its buffer is full: its loss, not our crash
                continue;
            }
            catch (ObjectDisposedException) { return; }
            var action = copy == 0 ? PingServerAction.Echoed : PingServerAction.Duplicated;
            Interlocked.Increment(ref copy == 0 ? ref _echoed : ref _duplicated);
            Record(action, client, echo.Length, preview);
        }
    }

    private void Record(PingServerAction action, IPEndPoint client, int length, string preview)
    {
        if (IsLogging) Record(new PingServerLogEntry(Stopwatch.GetElapsedTime(_started), action, client, length, preview));
    }

    /// <summary>Stops receiving, lets delayed echoes already scheduled go out for up to <paramref name="drain"/>, then closes the socket.</summary>
    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (_delayLine is not null)
            await Task.Run(() => _delayLine.Complete(drain)).ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
    }

    public HtmlTable LogTable(int last = 20)
    {
        var entries = Log.TakeLast(last).ToList();
        return new($"Ping server {EndPoint}: last {entries.Count} log entries", ["at (s)", "action", "client", "bytes", "datagram"],
            entries.Select(e => (IReadOnlyList<string>)
            [e.At.TotalSeconds.ToString("F4", CultureInfo.InvariantCulture), e.Action.ToString(), e.Client.ToString(), e.Length.ToString(CultureInfo.InvariantCulture), e.Preview]));
    }

    public override string ToHtml() => new HtmlTable($"Ping server on {EndPoint}", ["received", "dropped", "echoed", "duplicated", "errors"],
        [[.. CountersRow()]]).ToHtml();

    private IEnumerable<string> CountersRow()
    {
        var c = Counters;
        return new[] { c.Received, c.Dropped, c.Echoed, c.Duplicated, c.Errors }.Select(v => v.ToString(CultureInfo.InvariantCulture));
    }

    public override string ToString()
    {
        var c = Counters;
        return $"Ping server on {EndPoint}: {c.Received} received, {c.Dropped} dropped, {c.Echoed} echoed, {c.Duplicated} duplicated";
    }
}

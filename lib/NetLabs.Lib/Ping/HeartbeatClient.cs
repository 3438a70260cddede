using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Hosting;

namespace NetLabs.Ping;

public sealed record HeartbeatClientOptions
{
    public HeartbeatClientOptions(IPEndPoint server, string clientId)
    {
        // The server's own rule (HeartbeatMessage.ClientIdProblem): an id it would reject is refused here, not sent.
        if (HeartbeatMessage.ClientIdProblem(clientId) is { } problem) throw new ArgumentException(problem, nameof(clientId));
        Server = server;
        ClientId = clientId;
    }

    public IPEndPoint Server { get; init; }
    public string ClientId { get; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>How many heartbeats to send before stopping (null = until cancelled).</summary>
    public int? Count { get; init; }
    /// <summary>Simulated loss: the share of heartbeats skipped (their sequence number is used, nothing is sent).</summary>
    public double SkipProbability { get; init; }
    public int? Seed { get; init; }

    /// <summary>The shortest and longest <see cref="Interval"/> the client takes.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(1), MaxInterval = TimeSpan.FromHours(1);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Server);
        if (Interval < MinInterval || Interval > MaxInterval)
            throw new ArgumentOutOfRangeException(nameof(Interval), Interval, $"The interval between heartbeats is {MinInterval.TotalMilliseconds:0} ms to {MaxInterval.TotalHours:0} h.");
        if (Count is < 1) throw new ArgumentOutOfRangeException(nameof(Count), Count, "Send at least one heartbeat (or no count: until cancelled).");
        if (!(SkipProbability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(SkipProbability), SkipProbability, "A probability is between 0 and 1.");
    }
}

/// <summary>The heartbeat sender could not send (the network refused the datagram); carries how far it got.</summary>
public sealed class HeartbeatException(string message, IPEndPoint server, long sent, Exception? inner = null) : NetLabsException(message, inner)
{
    public IPEndPoint Server { get; } = server;
    /// <summary>Heartbeats sent before the failure.</summary>
    public long Sent { get; } = sent;
}

/// <summary>The heartbeat sender: one datagram every interval, numbered from 1, with the time it was sent.</summary>
public sealed class HeartbeatClient : IDisposable
{
    private readonly Socket _socket;
    private readonly Random _random;

    public HeartbeatClient(HeartbeatClientOptions options)
    {
        options.Validate();
        Options = options;
        _socket = new Socket(options.Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
    }

    public HeartbeatClientOptions Options { get; }
    public long Sent { get; private set; }
    public long Skipped { get; private set; }
    /// <summary>The sequence number of the last heartbeat actually sent (0 before any).</summary>
    public long LastSentSequence { get; private set; }

    /// <summary>
    /// Sends heartbeats until <see cref="HeartbeatClientOptions.Count"/> or cancellation; then simply stops, as a
    /// crashed client would. Throws <see cref="HeartbeatException"/> when a heartbeat cannot be sent.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var timer = new PeriodicTimer(Options.Interval);
        for (long sequence = 1; Options.Count is not { } count || sequence <= count; sequence++)
        {
            if (sequence > 1)
                try { await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            if (_random.NextDouble() < Options.SkipProbability) { Skipped++; continue; }
            var message = new HeartbeatMessage(Options.ClientId, sequence, DateTimeOffset.UtcNow).Format();
            try
            {
                await _socket.SendToAsync(Encoding.ASCII.GetBytes(message), SocketFlags.None, Options.Server, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException error)
            {
                throw new HeartbeatException($"heartbeat {sequence} could not be sent to {Options.Server}: {error.Message}.", Options.Server, Sent, error);
            }
            Sent++;
            LastSentSequence = sequence;
        }
    }

    public void Dispose() => _socket.Dispose();
}

using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Ping;

public sealed record HeartbeatClientOptions
{
    public HeartbeatClientOptions(IPEndPoint server, string clientId)
    {
        if (string.IsNullOrEmpty(clientId) || clientId.Any(char.IsWhiteSpace))
            throw new ArgumentException("A client id is one word (no spaces).", nameof(clientId));
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
}

/// <summary>The heartbeat sender: one datagram every interval, numbered from 1, with the time it was sent.</summary>
public sealed class HeartbeatClient(HeartbeatClientOptions options) : IDisposable
{
    private readonly Socket _socket = new(options.Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();

    public HeartbeatClientOptions Options { get; } = options;
    public long Sent { get; private set; }
    public long Skipped { get; private set; }
    /// <summary>The sequence number of the last heartbeat actually sent (0 before any).</summary>
    public long LastSentSequence { get; private set; }

    /// <summary>Sends heartbeats until <see cref="HeartbeatClientOptions.Count"/> or cancellation; then simply stops, as a crashed client would.</summary>
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
            await _socket.SendToAsync(Encoding.ASCII.GetBytes(message), SocketFlags.None, Options.Server, cancellationToken).ConfigureAwait(false);
            Sent++;
            LastSentSequence = sequence;
        }
    }

    public void Dispose() => _socket.Dispose();
}

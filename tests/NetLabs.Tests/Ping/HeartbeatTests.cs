using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Ping;
using static NetLabs.Tests.Ping.PingTestSupport;

namespace NetLabs.Tests.Ping;

public class HeartbeatTests
{
    [Fact]
    public async Task A_client_that_loses_heartbeats_and_stops_is_noticed()
    {
        // A silence far longer than the 10 ms interval, so a stall of a loaded machine is not taken for a stop.
        await using var server = HeartbeatServer.Start(new HeartbeatServerOptions { StoppedAfter = TimeSpan.FromSeconds(1) });
        using var client = new HeartbeatClient(new HeartbeatClientOptions(server.EndPoint, "alpha")
        {
            Interval = TimeSpan.FromMilliseconds(10), Count = 40, SkipProbability = 0.2, Seed = 5,
        });
        HeartbeatClientSummary? stopped = null;
        server.ClientStopped += s => stopped = s;

        using var timeout = new CancellationTokenSource(Bound);
        await client.RunAsync(timeout.Token);
        Assert.True(await server.WaitForStoppedAsync("alpha", Bound), "the server never noticed the client stopped");

        Assert.NotNull(stopped);
        Assert.InRange(client.Skipped, 1, 39);
        var summary = Assert.Single(server.Clients);
        Assert.Equal("alpha", summary.Client.Id);
        Assert.Equal(client.Sent, summary.Received);
        Assert.Equal(client.LastSentSequence, summary.HighestSequence);
        // Skips after the last heartbeat sent are indistinguishable from stopping; every other skip is a gap.
        Assert.Equal(client.LastSentSequence - client.Sent, summary.Lost);
        Assert.True(summary.Stopped);
        Assert.True(summary.MeanDelay >= TimeSpan.Zero);
        Assert.Equal(HeartbeatEventKind.Stopped, server.Log[^1].Kind);
        Assert.Equal(summary.Lost, server.Log.Where(e => e.Kind == HeartbeatEventKind.Lost).Sum(e => e.Count)); // one event per gap, counting its heartbeats
    }

    [Fact]
    public async Task Gaps_reordering_duplicates_and_garbage_are_told_apart_per_client()
    {
        await using var server = HeartbeatServer.Start(new HeartbeatServerOptions { StoppedAfter = TimeSpan.FromSeconds(30) });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        void Send(string text) => socket.SendTo(Encoding.ASCII.GetBytes(text), server.EndPoint);
        string Beat(string id, long sequence) => new HeartbeatMessage(id, sequence, DateTimeOffset.UtcNow).Format();

        foreach (var sequence in new long[] { 1, 3, 2, 2, 5 }) Send(Beat("a", sequence));
        Send(Beat("b", 1)); // same address, another id: another client
        Send("Heartbeat"); // garbage
        Send(Beat("b", 2));
        Assert.True(await WaitUntilAsync(() => server.Log.Count(e => e.Kind != HeartbeatEventKind.Lost) >= 9), string.Join("\n", server.Log));

        var a = server.Clients.Single(c => c.Client.Id == "a");
        var b = server.Clients.Single(c => c.Client.Id == "b");
        Assert.Equal((4L, 1L, 1L, 1L, 5L), (a.Received, a.Lost, a.Reordered, a.Duplicates, a.HighestSequence)); // 4 still missing
        Assert.Equal((2L, 0L, 0L, 0L), (b.Received, b.Lost, b.Reordered, b.Duplicates));
        Assert.Equal(a.Client.EndPoint, b.Client.EndPoint);
        var kinds = server.Log.Where(e => e.Client.Id == "a").Select(e => (e.Kind, e.Sequence)).ToArray();
        Assert.Equal(
        [
            (HeartbeatEventKind.Started, 1), (HeartbeatEventKind.Received, 1), (HeartbeatEventKind.Lost, 2), (HeartbeatEventKind.Received, 3),
            (HeartbeatEventKind.Reordered, 2), (HeartbeatEventKind.Duplicate, 2), (HeartbeatEventKind.Lost, 4), (HeartbeatEventKind.Received, 5),
        ], kinds);
        Assert.Single(server.Log, e => e.Kind == HeartbeatEventKind.Invalid);
        Assert.Contains("lost", server.ToHtml());
    }

    [Fact]
    public void Heartbeat_messages_round_trip_and_reject_malformed_text()
    {
        var message = new HeartbeatMessage("c1", 42, new DateTimeOffset(2026, 5, 6, 7, 8, 9, 10, TimeSpan.Zero));
        Assert.True(HeartbeatMessage.TryParse(Encoding.ASCII.GetBytes(message.Format()), out var parsed));
        Assert.Equal(message, parsed);
        foreach (var bad in new[] { "", "Heartbeat c1 x 1.0", "Heartbeat c1 1", "Ping 1 2", "Heartbeat  1 1.0" })
            Assert.False(HeartbeatMessage.TryParse(Encoding.ASCII.GetBytes(bad), out _), bad);
        Assert.Throws<ArgumentException>(() => new HeartbeatClientOptions(new IPEndPoint(IPAddress.Loopback, 1), "two words"));
    }
}

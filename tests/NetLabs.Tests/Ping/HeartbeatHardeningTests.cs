using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Hosting;
using NetLabs.Ping;
using static NetLabs.Tests.Ping.PingTestSupport;

namespace NetLabs.Tests.Ping;

/// <summary>What outside testing sent the heartbeat server: forged sequence numbers, restarts, floods of clients.</summary>
public class HeartbeatHardeningTests
{
    private static string Beat(string id, long sequence, DateTimeOffset sentAt) => new HeartbeatMessage(id, sequence, sentAt).Format();

    [Fact]
    public async Task A_forged_huge_sequence_number_is_counted_not_enumerated_and_other_clients_are_still_served()
    {
        var server = HeartbeatServer.Start(new HeartbeatServerOptions { StoppedAfter = TimeSpan.FromSeconds(30) });
        using var forger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var now = DateTimeOffset.UtcNow;

        // The datagram pair of the report: a gap of 2^63 − 2 heartbeats.
        forger.SendTo(Encoding.ASCII.GetBytes(Beat("m", 1, now)), server.EndPoint);
        forger.SendTo(Encoding.ASCII.GetBytes($"Heartbeat m {long.MaxValue} {PingMessage.UnixSeconds(now):F6}"), server.EndPoint);
        // Another client right behind it is still served.
        using (var other = new HeartbeatClient(new HeartbeatClientOptions(server.EndPoint, "other") { Interval = TimeSpan.FromMilliseconds(5), Count = 3 }))
        {
            using var timeout = new CancellationTokenSource(Bound);
            await other.RunAsync(timeout.Token);
        }
        Assert.True(await WaitUntilAsync(() => server.Clients.Any(c => c.Client.Id == "other" && c.Received == 3), TimeSpan.FromSeconds(10)),
            "the server stopped serving other clients: " + string.Join("\n", server.Log.TakeLast(5)));

        var forged = server.Clients.Single(c => c.Client.Id == "m");
        Assert.Equal((2L, long.MaxValue - 2, long.MaxValue), (forged.Received, forged.Lost, forged.HighestSequence));
        var gap = Assert.Single(server.Log, e => e.Kind == HeartbeatEventKind.Lost);
        Assert.Equal((2L, long.MaxValue - 2), (gap.Sequence, gap.Count));
        Assert.All(server.RememberedMissing(), remembered => Assert.InRange(remembered, 0, server.Options.MissingWindow));
        Assert.InRange(GC.GetTotalMemory(forceFullCollection: true) - memoryBefore, long.MinValue, 512L << 20); // not gigabytes (with room for tests running alongside)

        // The latest missing numbers are remembered: one of them arriving late is reordered, not a duplicate.
        forger.SendTo(Encoding.ASCII.GetBytes(Beat("m", long.MaxValue - 1, now)), server.EndPoint);
        Assert.True(await WaitUntilAsync(() => server.Clients.Single(c => c.Client.Id == "m").Reordered == 1), string.Join("\n", server.Log.TakeLast(3)));

        await server.StopAsync().WaitAsync(Bound); // and it stops when asked
        Assert.Equal(ServerState.Stopped, server.State);
    }

    [Fact]
    public async Task The_number_of_tracked_clients_is_bounded_and_the_longest_silent_is_forgotten()
    {
        await using var server = HeartbeatServer.Start(new HeartbeatServerOptions { MaxClients = 4, StoppedAfter = TimeSpan.FromSeconds(30) });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (var i = 0; i < 10; i++) socket.SendTo(Encoding.ASCII.GetBytes(Beat($"c{i}", 1, DateTimeOffset.UtcNow)), server.EndPoint);
        Assert.True(await WaitUntilAsync(() => server.Counters.Datagrams == 10), server.Counters.ToString());

        Assert.Equal(["c6", "c7", "c8", "c9"], server.Clients.Select(c => c.Client.Id).Order());
        Assert.Equal((4, 6L, 10L), (server.Counters.Clients, server.Counters.ClientsForgotten, server.Counters.Received));
    }

    [Fact]
    public async Task A_client_that_restarts_from_1_is_reported_restarted_not_duplicate()
    {
        await using var server = HeartbeatServer.Start(new HeartbeatServerOptions { StoppedAfter = TimeSpan.FromSeconds(30) });
        // One fixed source port, as a client bound to its own port (or a NAT) restarts with.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var start = DateTimeOffset.UtcNow;
        void Send(long sequence, TimeSpan sentAfter) => client.SendTo(Encoding.ASCII.GetBytes(Beat("r", sequence, start + sentAfter)), server.EndPoint);

        for (var sequence = 1; sequence <= 5; sequence++) Send(sequence, TimeSpan.FromMilliseconds(10 * sequence));
        Send(1, TimeSpan.FromMilliseconds(10));  // a network duplicate of heartbeat 1: same timestamp, not a restart
        Send(1, TimeSpan.FromMilliseconds(100)); // the client restarted: 1 again, sent later than all before
        Send(2, TimeSpan.FromMilliseconds(110));
        Assert.True(await WaitUntilAsync(() => server.Log.Count >= 10), string.Join("\n", server.Log)); // 8 datagrams, 10 events

        var kinds = server.Log.Select(e => (e.Kind, e.Sequence)).ToArray();
        Assert.Equal(
        [
            (HeartbeatEventKind.Started, 1), (HeartbeatEventKind.Received, 1), (HeartbeatEventKind.Received, 2), (HeartbeatEventKind.Received, 3),
            (HeartbeatEventKind.Received, 4), (HeartbeatEventKind.Received, 5), (HeartbeatEventKind.Duplicate, 1),
            (HeartbeatEventKind.Restarted, 1), (HeartbeatEventKind.Received, 1), (HeartbeatEventKind.Received, 2),
        ], kinds);
        var summary = Assert.Single(server.Clients);
        Assert.Equal((2L, 0L, 0L, 2L, 1L), (summary.Received, summary.Duplicates, summary.Lost, summary.HighestSequence, summary.Restarts));
        Assert.Equal((1L, 1L), (server.Counters.Restarts, server.Counters.Duplicates));
    }

    [Fact]
    public async Task Ids_the_server_rejects_are_refused_by_the_client_with_the_same_rule()
    {
        await using var server = HeartbeatServer.Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        foreach (var id in new[] { new string('x', 10_000), "é", "has space", "" })
        {
            Assert.NotNull(HeartbeatMessage.ClientIdProblem(id));
            Assert.Throws<ArgumentException>(() => new HeartbeatClientOptions(server.EndPoint, id));
            var datagram = Encoding.UTF8.GetBytes($"Heartbeat {id} 1 1.0");
            Assert.False(HeartbeatMessage.TryParse(datagram, out _), id.Length > 20 ? id[..20] : id);
        }
        var longest = new string('x', HeartbeatMessage.MaxClientIdLength);
        Assert.Null(HeartbeatMessage.ClientIdProblem(longest));
        Assert.True(HeartbeatMessage.TryParse(Encoding.ASCII.GetBytes(Beat(longest, 1, DateTimeOffset.UtcNow)), out _));
    }

    [Fact]
    public async Task Bad_options_and_a_taken_port_are_a_ServerStartException_and_stop_is_idempotent()
    {
        Assert.Throws<ServerStartException>(() => HeartbeatServer.Start(new HeartbeatServerOptions { StoppedAfter = TimeSpan.Zero }));
        var server = HeartbeatServer.Start();
        var taken = Assert.Throws<ServerStartException>(() => HeartbeatServer.Start(new HeartbeatServerOptions { Port = server.Port }));
        Assert.Contains("already in use", taken.Message);
        var first = server.StopAsync(TimeSpan.FromSeconds(1));
        Assert.Same(first, server.StopAsync()); // every call returns the same stop
        await first.WaitAsync(Bound);
        await server.DisposeAsync();
        Assert.Equal(ServerState.Stopped, server.State);
    }

    [Fact]
    public void The_timeline_draws_a_marker_per_lost_heartbeat_but_a_forged_gap_stays_bounded()
    {
        var key = new HeartbeatClientKey(new IPEndPoint(IPAddress.Loopback, 1), "m");
        HeartbeatEvent Gap(long first, long count) => new(TimeSpan.FromSeconds(1), HeartbeatEventKind.Lost, key, first, null, count);

        var small = PingCharts.HeartbeatTimeline([Gap(2, 3)]).ToFigureJson();
        var forged = PingCharts.HeartbeatTimeline([Gap(2, long.MaxValue - 2)]).ToFigureJson();

        var lost = System.Text.Json.Nodes.JsonNode.Parse(small)!["data"]![0]!["y"]!.AsArray().Select(y => (double)y!);
        Assert.Equal([2.0, 3.0, 4.0], lost);
        Assert.InRange(forged.Length, 1, 200 * PingCharts.MarkersPerGap); // about 100 bytes a marker: 100 markers, not 2^63
    }
}

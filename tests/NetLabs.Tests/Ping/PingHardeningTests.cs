using System.Net;
using System.Net.Sockets;
using NetLabs.Hosting;
using NetLabs.Ping;
using static NetLabs.Tests.Ping.PingTestSupport;

namespace NetLabs.Tests.Ping;

/// <summary>What outside testing found in the pinger: a closed port, bad options, a second stop.</summary>
public class PingHardeningTests
{
    /// <summary>A UDP port on loopback where nothing listens (bound, then closed).</summary>
    internal static int ClosedUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [SkippableFact]
    public async Task A_ping_to_a_port_where_nothing_listens_says_port_unreachable()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsWindows(), "only Linux and Windows report ICMP port unreachable on a UDP socket");
        var port = ClosedUdpPort();
        // A timeout far longer than the test's bound: only the ICMP error can end this run in time.
        await using var client = new PingClient(new PingClientOptions(new IPEndPoint(IPAddress.Loopback, port)) { Count = 3, Timeout = TimeSpan.FromMinutes(5) });

        var failure = await Assert.ThrowsAsync<PingException>(() => ToListAsync(client.PingAsync()));

        Assert.StartsWith($"port unreachable: nothing listens on UDP {port} at 127.0.0.1", failure.Message);
        Assert.Empty(failure.Replies);
        Assert.Equal(port, failure.Server.Port);
        Assert.IsAssignableFrom<NetLabsException>(failure);
    }

    [SkippableFact]
    public async Task A_server_that_goes_away_mid_run_ends_the_run_with_the_replies_so_far()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsWindows());
        var server = PingServer.Start(PingServerOptions.Lossless);
        await using var client = new PingClient(new PingClientOptions(server.EndPoint) { Count = 5, Timeout = TimeSpan.FromMinutes(5) });
        var replies = new List<PingReply>();
        using var timeout = new CancellationTokenSource(Bound);

        var failure = await Assert.ThrowsAsync<PingException>(async () =>
        {
            await foreach (var reply in client.PingAsync(timeout.Token))
            {
                replies.Add(reply);
                if (replies.Count == 2) await server.StopAsync().WaitAsync(Bound);
            }
        });

        Assert.Equal([1, 2], replies.Select(r => r.Sequence));
        Assert.Equal(replies, failure.Replies);
        Assert.Contains("port unreachable", failure.Message);
    }

    [Fact]
    public async Task Bad_options_and_a_taken_port_are_a_ServerStartException_that_says_what_to_do()
    {
        var loss = Assert.Throws<ServerStartException>(() => PingServer.Start(new PingServerOptions { LossProbability = 1.5 }));
        Assert.Contains("between 0 and 1", loss.Message);
        Assert.Throws<ServerStartException>(() => PingServer.Start(new PingServerOptions { Delay = TimeSpan.FromDays(3) }));
        Assert.Throws<ServerStartException>(() => PingServer.Start(new PingServerOptions { Port = 70_000 }));
        await using var server = PingServer.Start();
        var taken = Assert.Throws<ServerStartException>(() => PingServer.Start(new PingServerOptions { Port = server.Port }));
        Assert.Contains($"UDP port {server.Port} on 127.0.0.1 is already in use", taken.Message);
    }

    [Fact]
    public async Task Stop_is_idempotent_and_the_log_is_bounded()
    {
        var server = PingServer.Start(new PingServerOptions { LossProbability = 0, LogCapacity = 4 });
        await using (var client = new PingClient(new PingClientOptions(server.EndPoint) { Count = 5 }))
            await ToListAsync(client.PingAsync());
        Assert.Equal(4, server.Log.Count); // 10 entries (received + echoed), the latest 4 kept
        Assert.Equal((5L, 5L), (server.Counters.Received, server.Counters.Echoed));
        var stop = server.StopAsync();
        Assert.Same(stop, server.StopAsync(TimeSpan.Zero));
        await stop.WaitAsync(Bound);
        await server.DisposeAsync();
        Assert.Equal(ServerState.Stopped, server.State);
    }

    [Fact]
    public async Task A_flood_against_a_long_delay_is_dropped_once_the_delay_line_is_full()
    {
        await using var server = PingServer.Start(new PingServerOptions
        {
            LossProbability = 0, Delay = TimeSpan.FromMinutes(10), JitterDistribution = JitterDistribution.None, MaxDelayedBytes = 1_000,
        });
        using var flooder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (var i = 0; i < 5; i++) flooder.SendTo(new byte[400], server.EndPoint);
        // 2 × 400 B wait for their echo, 3 do not fit (the third drop is counted after the fifth datagram was received).
        Assert.True(await WaitUntilAsync(() => server.Counters is { Received: 5, Dropped: 3 }), server.Counters.ToString());
        Assert.Equal(2, server.Log.Count(e => e.Action == PingServerAction.Received) - server.Log.Count(e => e.Action == PingServerAction.Dropped));
        await server.StopAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Bound);
    }
}

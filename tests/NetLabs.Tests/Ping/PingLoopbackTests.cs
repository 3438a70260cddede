using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Ping;
using static NetLabs.Tests.Ping.PingTestSupport;

namespace NetLabs.Tests.Ping;

/// <summary>Our client against our server, real sockets on loopback.</summary>
public class PingLoopbackTests
{
    [Fact]
    public async Task The_lab_run_prints_replies_and_timeouts_and_the_textbook_loss_rule_applies()
    {
        await using var server = PingServer.Start(new PingServerOptions { Seed = 4 });
        // The textbook 1 s timeout: a shorter one could count a reply slowed by a loaded machine as a drop.
        await using var client = new PingClient(new PingClientOptions(server.EndPoint) { Timeout = TimeSpan.FromSeconds(1) });

        var replies = await ToListAsync(client.PingAsync());

        Assert.Equal(10, replies.Count);
        Assert.Equal(Enumerable.Range(1, 10), replies.Select(r => r.Sequence));
        Assert.Equal(server.Counters.Dropped, replies.Count(r => r.Outcome == PingOutcome.Timeout));
        Assert.All(replies.Where(r => r.Outcome == PingOutcome.Reply), r => Assert.StartsWith($"Reply from {server.EndPoint}: PING {r.Sequence} ", r.ToString()));
        Assert.All(replies.Where(r => r.Outcome == PingOutcome.Timeout), r => Assert.Equal($"Request timed out (ping {r.Sequence})", r.ToString()));
    }

    [Fact]
    public async Task Measured_loss_is_within_a_binomial_bound_of_the_configured_loss()
    {
        const double configured = 0.25;
        await using var server = PingServer.Start(new PingServerOptions { LossProbability = configured, Seed = 42 });
        await using var client = new PingClient(new PingClientOptions(server.EndPoint) { Count = 200, Timeout = TimeSpan.FromMilliseconds(50) });

        using var timeout = new CancellationTokenSource(Bound);
        var run = await client.RunToEndAsync("seeded", timeout.Token);

        var statistics = run.Statistics;
        Assert.Equal(200, statistics.Sent);
        // Every timeout is a datagram the server chose to drop, or a reply that came after the timeout (reported late).
        Assert.Equal(server.Counters.Dropped, statistics.Lost - statistics.Late);
        var sigma = Math.Sqrt(configured * (1 - configured) / 200);
        Assert.InRange(statistics.LossRate, configured - 4 * sigma, configured + 4 * sigma);
        var (lower, upper) = statistics.LossInterval(z: 4);
        Assert.InRange(configured, lower, upper);
    }

    [Fact]
    public async Task Late_and_duplicate_replies_are_never_counted_for_another_ping()
    {
        // Every echo takes 80 ms and is sent twice; the client gives up after 50 ms. So the reply to ping 1 arrives
        // while ping 2 is waiting: a client matching "any reply" would call it ping 2's. Ours must not.
        // The grace after the last ping is generous so that a loaded 2-core CI machine still sees every late echo.
        await using var server = PingServer.Start(new PingServerOptions
        {
            LossProbability = 0, Delay = TimeSpan.FromMilliseconds(80), JitterDistribution = JitterDistribution.None, DuplicateProbability = 1,
        });
        await using var client = new PingClient(new PingClientOptions(server.EndPoint)
        {
            Count = 4, Timeout = TimeSpan.FromMilliseconds(50), LateReplyGrace = TimeSpan.FromSeconds(3),
        });

        var replies = await ToListAsync(client.PingAsync());

        Assert.DoesNotContain(replies, r => r.Outcome == PingOutcome.Reply);
        Assert.Equal([1, 2, 3, 4], replies.Where(r => r.Outcome == PingOutcome.Timeout).Select(r => r.Sequence));
        Assert.Equal([1, 2, 3, 4], replies.Where(r => r.Outcome == PingOutcome.Late).Select(r => r.Sequence).Order());
        Assert.Equal([1, 2, 3, 4], replies.Where(r => r.Outcome == PingOutcome.Duplicate).Select(r => r.Sequence).Order());
        Assert.All(replies.Where(r => r.Outcome != PingOutcome.Timeout), r =>
        {
            Assert.StartsWith($"PING {r.Sequence} ", r.Text);
            Assert.True(r.Rtt >= TimeSpan.FromMilliseconds(75), $"ping {r.Sequence}: RTT {r.Rtt} is its own, not the next ping's");
        });
        var statistics = PingStatistics.From(replies);
        Assert.Equal((4, 0, 4, 4), (statistics.Sent, statistics.Received, statistics.Late, statistics.Duplicates));
    }

    [Fact]
    public async Task A_late_reply_is_printed_when_it_arrived_before_the_outcome_of_the_ping_then_waiting()
    {
        // Echoes take 400 ms, the timeout is 300 ms: ping 1's echo arrives at 400 ms, while ping 2 waits (until at least
        // 600 ms). A late reply is printed in arrival order, so the output reads as the wire did: 200 ms of margin.
        await using var server = PingServer.Start(new PingServerOptions
        {
            LossProbability = 0, Delay = TimeSpan.FromMilliseconds(400), JitterDistribution = JitterDistribution.None,
        });
        await using var client = new PingClient(new PingClientOptions(server.EndPoint)
        {
            Count = 2, Timeout = TimeSpan.FromMilliseconds(300), LateReplyGrace = TimeSpan.FromSeconds(2),
        });

        var lines = (await ToListAsync(client.PingAsync())).Select(r => r.ToString()).ToList();

        Assert.Equal(4, lines.Count);
        Assert.Equal("Request timed out (ping 1)", lines[0]);
        Assert.StartsWith("Late reply to ping 1 after ", lines[1]);
        Assert.Equal("Request timed out (ping 2)", lines[2]);
        Assert.StartsWith("Late reply to ping 2 after ", lines[3]);
    }

    [Fact]
    public async Task Garbage_empty_and_64KB_datagrams_are_echoed_and_the_server_keeps_serving()
    {
        await using var server = PingServer.Start(PingServerOptions.Lossless);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[70_000];

        async Task<byte[]> EchoOf(byte[] datagram)
        {
            await peer.SendToAsync(datagram, SocketFlags.None, server.EndPoint);
            using var timeout = new CancellationTokenSource(Bound);
            var received = await peer.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            return buffer[..received.ReceivedBytes];
        }

        Assert.Empty(await EchoOf([]));
        byte[] garbage = [0x00, 0xff, (byte)'a', 0x80, (byte)'z', 0x0a];
        Assert.Equal([0x00, 0xff, (byte)'A', 0x80, (byte)'Z', 0x0a], await EchoOf(garbage));
        var largest = Enumerable.Repeat((byte)'x', 65_507).ToArray();
        var echo = await EchoOf(largest);
        Assert.Equal(65_507, echo.Length);
        Assert.All(echo, b => Assert.Equal((byte)'X', b));
        Assert.Equal("PING 1 2", Encoding.ASCII.GetString(await EchoOf("Ping 1 2"u8.ToArray())));
        Assert.Throws<SocketException>(() => peer.SendTo(new byte[65_508], server.EndPoint)); // IPv4 cannot carry more

        var counters = server.Counters;
        Assert.Equal((4, 4, 0), (counters.Received, counters.Echoed, counters.Dropped));
        Assert.Contains(server.Log, e => e.Action == PingServerAction.Echoed && e.Length == 65_507);
    }

    [Fact]
    public async Task Datagrams_that_are_no_reply_reach_the_client_as_unexpected_and_are_not_counted()
    {
        await using var server = PingServer.Start(PingServerOptions.Lossless);
        await using var client = new PingClient(new PingClientOptions(server.EndPoint)
        {
            Count = 3, Interval = TimeSpan.FromMilliseconds(100), LateReplyGrace = TimeSpan.FromMilliseconds(300),
        });
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var echoes = 0;
        // When the server answers ping 2 (ping 1's send has certainly returned, so the client's port is known), a
        // stranger sends the client a forged "reply" to ping 2 and some garbage.
        server.Logged += entry =>
        {
            if (entry.Action != PingServerAction.Echoed || Interlocked.Increment(ref echoes) != 2) return;
            stranger.SendTo("PING 2 forged"u8, SocketFlags.None, client.LocalEndPoint!);
            stranger.SendTo(new byte[] { 1, 2, 3 }, SocketFlags.None, client.LocalEndPoint!);
        };

        var replies = await ToListAsync(client.PingAsync());

        Assert.Equal([1, 2, 3], replies.Where(r => r.Outcome == PingOutcome.Reply).Select(r => r.Sequence));
        Assert.DoesNotContain(replies, r => r.Text?.Contains("forged", StringComparison.OrdinalIgnoreCase) == true && r.Outcome == PingOutcome.Reply);
        Assert.Equal(2, replies.Count(r => r.Outcome == PingOutcome.Unexpected));
        var statistics = PingStatistics.From(replies);
        Assert.Equal((3, 3, 2), (statistics.Sent, statistics.Received, statistics.Unexpected));
    }

    [Fact]
    public async Task Stopping_sends_scheduled_echoes_within_the_drain_and_abandons_the_rest()
    {
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[2048];
        var soon = PingServer.Start(new PingServerOptions { LossProbability = 0, Delay = TimeSpan.FromMilliseconds(100), JitterDistribution = JitterDistribution.None });
        var never = PingServer.Start(new PingServerOptions { LossProbability = 0, Delay = TimeSpan.FromMinutes(10), JitterDistribution = JitterDistribution.None });
        peer.SendTo("Ping 1 0"u8, SocketFlags.None, soon.EndPoint);
        peer.SendTo("Ping 2 0"u8, SocketFlags.None, never.EndPoint);
        Assert.True(await WaitUntilAsync(() => soon.Counters.Received == 1 && never.Counters.Received == 1));

        await soon.StopAsync(drain: Bound).WaitAsync(Bound);                       // waits for the 100 ms echo
        await never.StopAsync(drain: TimeSpan.FromMilliseconds(200)).WaitAsync(Bound); // gives up on the 10 min one

        using var timeout = new CancellationTokenSource(Bound);
        var echo = await peer.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.Equal("PING 1 0", Encoding.ASCII.GetString(buffer, 0, echo.ReceivedBytes));
        Assert.Equal(soon.EndPoint, echo.RemoteEndPoint);
        Assert.Equal((1, 0), (never.Counters.Received, never.Counters.Echoed));
        await soon.DisposeAsync();
        await never.DisposeAsync(); // a second stop is harmless
    }

    [Fact]
    public async Task Fifty_clients_at_once_each_get_exactly_their_own_replies()
    {
        await using var server = PingServer.Start(new PingServerOptions
        {
            LossProbability = 0, Seed = 7, Jitter = TimeSpan.FromMilliseconds(5), JitterDistribution = JitterDistribution.Uniform,
        });

        async Task<(int Client, List<PingReply> Replies)> RunClient(int id)
        {
            await using var client = new PingClient(new PingClientOptions(server.EndPoint)
            {
                Count = 10, Timeout = TimeSpan.FromSeconds(5), Payload = (sequence, time) => $"{PingMessage.Format(sequence, time)} client{id}",
            });
            return (id, await ToListAsync(client.PingAsync()));
        }

        var runs = await Task.WhenAll(Enumerable.Range(1, 50).Select(RunClient)).WaitAsync(Bound);

        foreach (var (id, replies) in runs)
        {
            Assert.Equal(Enumerable.Range(1, 10), replies.Select(r => r.Sequence));
            Assert.All(replies, r =>
            {
                Assert.Equal(PingOutcome.Reply, r.Outcome);
                Assert.StartsWith($"PING {r.Sequence} ", r.Text);
                Assert.EndsWith($" CLIENT{id}", r.Text);
            });
        }
        Assert.Equal(500, server.Counters.Echoed);
    }

    [Fact]
    public async Task A_students_exchange_function_runs_through_the_same_loop()
    {
        await using var server = PingServer.Start(new PingServerOptions { Seed = 4 });

        // What a student writes: send on the socket the loop hands over, then wait for one datagram or the timeout.
        async Task<PingReply> StudentPing(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(request.Timeout);
            var buffer = new byte[2048];
            try
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
                return new PingReply(request.Sequence, PingOutcome.Reply, System.Diagnostics.Stopwatch.GetElapsedTime(start),
                    Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return PingReply.TimedOut(request.Sequence);
            }
        }

        await using var client = new PingClient(new PingClientOptions(server.EndPoint) { Timeout = TimeSpan.FromSeconds(1), Exchange = StudentPing });
        var replies = await ToListAsync(client.PingAsync());

        Assert.Equal(Enumerable.Range(1, 10), replies.Select(r => r.Sequence));
        Assert.Equal(server.Counters.Dropped, replies.Count(r => r.Outcome == PingOutcome.Timeout));
        Assert.Equal(10, PingStatistics.From(replies).Sent);
    }

    [Fact]
    public async Task Charts_are_built_from_runs_and_heartbeat_events()
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, 1);
        PingReply[] replies = [new(1, PingOutcome.Reply, TimeSpan.FromMilliseconds(1), "PING 1", endPoint), PingReply.TimedOut(2),
            new(2, PingOutcome.Late, TimeSpan.FromMilliseconds(1200), "PING 2", endPoint), new(3, PingOutcome.Reply, TimeSpan.FromMilliseconds(2), "PING 3", endPoint)];
        var run = new PingRun("a", replies);
        var key = new HeartbeatClientKey(endPoint, "h");
        HeartbeatEvent[] events = [new(TimeSpan.FromSeconds(1), HeartbeatEventKind.Received, key, 1, TimeSpan.FromMilliseconds(1)),
            new(TimeSpan.FromSeconds(2), HeartbeatEventKind.Lost, key, 2, null), new(TimeSpan.FromSeconds(4), HeartbeatEventKind.Stopped, key, 3, null)];

        var figures = new[]
        {
            PingCharts.Histogram(run, run), PingCharts.RttBySequence(run), PingCharts.Cdf(run), PingCharts.Box(run),
            PingCharts.LossVsConfigured([(0.5, run)], 4), PingCharts.HeartbeatTimeline(events), PingCharts.HeartbeatDelays(events),
        }.Select(c => c.ToFigureJson()).ToArray();

        Assert.Contains("\"histogram\"", figures[0]);
        Assert.Contains("timed out", figures[1]);
        Assert.Contains("late reply", figures[1]);
        Assert.Contains("\"box\"", figures[3]);
        Assert.Contains("Stopped", figures[5]);
        Assert.Contains("Ping runs compared", PingRun.Compare([run]).ToHtml());
        await Task.CompletedTask;
    }
}

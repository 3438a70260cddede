using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Ping;

/// <summary>
/// The pinger lab's checks of a student's <see cref="PingExchange"/> ("send one ping and wait for its reply"): replies
/// and their RTT, timeouts, a late reply that must not be taken for the next ping's, and statistics that agree with
/// what the server did. The student's function runs inside the library's own ping loop
/// (<see cref="PingClient.PingAsync"/> with <see cref="PingClientOptions.Exchange"/>), against real servers on loopback.
/// <code>await PingStudentChecks.RunAsync(SendOnePing)</code>
/// </summary>
public static class PingStudentChecks
{
    public const string Lab = "02-udp-pinger";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);

    public static Task<ReportCard> RunAsync(PingExchange exchange, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(exchange), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(PingExchange exchange) =>
    [
        new("replies: the echo of each ping, with its RTT",
            "Send request.Payload as ASCII bytes to request.Server (UdpClient.SendAsync), receive the echo, and return new PingReply(request.Sequence, PingOutcome.Reply, rtt, text, from) with rtt from a Stopwatch started just before the send.",
            async token =>
            {
                await using var server = PingServer.Start(PingServerOptions.Lossless);
                var replies = await RunAsync(exchange, new PingClientOptions(server.EndPoint) { Count = 3, Timeout = TimeSpan.FromSeconds(1) }, token);
                for (var i = 0; i < 3; i++)
                {
                    var reply = replies[i];
                    Expect(reply.Outcome == PingOutcome.Reply, $"ping {i + 1}: {reply.Outcome}, expected a reply (the server answers every ping)");
                    Expect(reply.Sequence == i + 1, $"ping {i + 1} came back with sequence number {reply.Sequence}");
                    Expect(reply.Text?.StartsWith($"PING {i + 1} ", StringComparison.Ordinal) == true, $"ping {i + 1}: the text is \"{reply.Text}\", expected the server's echo \"PING {i + 1} …\"");
                    Expect(reply.Rtt is { } rtt && rtt > TimeSpan.Zero && rtt < TimeSpan.FromSeconds(1), $"ping {i + 1}: RTT {reply.Rtt?.TotalMilliseconds:0.###} ms, expected more than 0 and less than the 1 s timeout");
                }
                return $"3 replies, RTTs {string.Join(", ", replies.Select(r => $"{r.RttMilliseconds:0.###} ms"))}";
            }, CheckTimeout),
        new("timeouts: \"Request timed out\" after at most the timeout",
            "Wait at most request.Timeout for the reply (ReceiveAsync with a CancellationTokenSource that cancels after it), then return PingReply.TimedOut(request.Sequence) instead of waiting forever or throwing.",
            async token =>
            {
                await using var server = PingServer.Start(new PingServerOptions { LossProbability = 1 });
                var clock = Stopwatch.StartNew();
                var replies = await RunAsync(exchange, new PingClientOptions(server.EndPoint) { Count = 2, Timeout = TimeSpan.FromMilliseconds(300) }, token);
                Expect(replies.All(r => r.Outcome == PingOutcome.Timeout), $"outcomes {string.Join(", ", replies.Select(r => r.Outcome))}, expected Timeout for both: the server dropped every ping");
                Expect(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"2 pings with a 0.3 s timeout took {clock.Elapsed.TotalSeconds:0.0} s: wait no longer than request.Timeout");
                return $"2 × Request timed out in {clock.Elapsed.TotalSeconds:0.00} s";
            }, CheckTimeout),
        new("a late reply is not taken for the next ping's",
            "Match the reply to the ping: the echo carries the sequence number (PingMessage.TryParseSequence). Drop a datagram whose number is not request.Sequence and keep waiting (or use a fresh socket for each ping).",
            async token =>
            {
                // Ping 1 is answered after 1.35 s (its timeout is 1 s), ping 2 after 0.7 s: ping 1's late echo arrives
                // while ping 2 waits. Every margin is 0.3 s or more, so a busy machine cannot change the outcome.
                await using var responder = new DelayedEchoServer(new Dictionary<int, TimeSpan> { [1] = TimeSpan.FromMilliseconds(1350), [2] = TimeSpan.FromMilliseconds(700) });
                var replies = await RunAsync(exchange, new PingClientOptions(responder.EndPoint) { Count = 2, Timeout = TimeSpan.FromSeconds(1) }, token);
                // On a very busy machine a correct timer can fire late, after the echo was already there: that still
                // counts, as long as the echo was ping 1's own and the measured RTT says it was late.
                var ping1 = replies[0];
                Expect(ping1.Outcome == PingOutcome.Timeout
                       || (ping1.Outcome == PingOutcome.Reply && ping1.Rtt >= TimeSpan.FromSeconds(1) && ping1.Text?.StartsWith("PING 1 ", StringComparison.Ordinal) == true),
                    $"ping 1: {ping1.Outcome} after {ping1.RttMilliseconds:0.#} ms, expected Timeout (its echo came after 1.35 s, the timeout was 1 s)");
                Expect(replies[1].Outcome == PingOutcome.Reply && replies[1].Text?.StartsWith("PING 2 ", StringComparison.Ordinal) == true,
                    $"ping 2: {replies[1].Outcome} \"{replies[1].Text}\", expected its own echo \"PING 2 …\" (ping 1's late echo came first)");
                return "ping 1 timed out; ping 2 got its own echo, not ping 1's late one";
            }, CheckTimeout),
        new("statistics agree with what the server did",
            "Every ping must end as exactly one Reply or Timeout with its own sequence number; the library counts them into the statistics (sent, received, loss, min/avg/max RTT).",
            async token =>
            {
                await using var server = PingServer.Start(new PingServerOptions { LossProbability = 0.3, Seed = 7 });
                var replies = await RunAsync(exchange, new PingClientOptions(server.EndPoint) { Count = 10, Timeout = TimeSpan.FromSeconds(1) }, token);
                var statistics = PingStatistics.From(replies);
                var counters = server.Counters;
                Expect(statistics.Sent == 10, $"{statistics.Sent} pings counted, 10 sent");
                Expect(replies.Select(r => r.Sequence).SequenceEqual(Enumerable.Range(1, 10)), $"sequence numbers {string.Join(" ", replies.Select(r => r.Sequence))}, expected 1 to 10");
                Expect(statistics.Received == counters.Echoed, $"{statistics.Received} replies counted, the server echoed {counters.Echoed} (and dropped {counters.Dropped})");
                Expect(statistics.Min is null || statistics.Min > 0, "an RTT of 0 or less");
                return $"sent 10, received {statistics.Received}, lost {statistics.Lost} ({statistics.LossPercent:0}%), as the server did";
            }, CheckTimeout),
    ];

    /// <summary>The student's exchange in the library's loop; every ping's result, in order.</summary>
    private static async Task<List<PingReply>> RunAsync(PingExchange exchange, PingClientOptions options, CancellationToken token)
    {
        var replies = new List<PingReply>();
        await using var client = new PingClient(options with { Exchange = exchange });
        await foreach (var reply in client.PingAsync(token).ConfigureAwait(false))
        {
            if (reply is null) throw new CheckFailedException($"ping {replies.Count + 1}: your function returned null; return a PingReply (PingReply.TimedOut(sequence) when nothing came back)");
            replies.Add(reply);
        }
        return replies;
    }

    /// <summary>Echoes each ping in upper case after the delay given for its sequence number (others at once).</summary>
    private sealed class DelayedEchoServer : IAsyncDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public DelayedEchoServer(IReadOnlyDictionary<int, TimeSpan> delays)
        {
            EndPoint = (IPEndPoint)_udp.Client.LocalEndPoint!;
            _loop = Task.Run(async () =>
            {
                var pending = new List<Task>();
                try
                {
                    while (true)
                    {
                        var datagram = await _udp.ReceiveAsync(_stop.Token).ConfigureAwait(false);
                        PingMessage.TryParseSequence(datagram.Buffer, out var sequence);
                        var delay = delays.TryGetValue(sequence, out var d) ? d : TimeSpan.Zero;
                        pending.Add(EchoLaterAsync(datagram, delay));
                    }
                }
                catch (OperationCanceledException) { }
                await Task.WhenAll(pending).ConfigureAwait(false);
            });
        }

        public IPEndPoint EndPoint { get; }

        private async Task EchoLaterAsync(UdpReceiveResult datagram, TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
                await _udp.SendAsync(PingMessage.ToUpperAscii(datagram.Buffer), datagram.RemoteEndPoint, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { }
            catch (SocketException) { } // the student's socket is gone: nobody to echo to
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _udp.Dispose();
            _stop.Dispose();
        }
    }
}

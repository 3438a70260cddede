using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Ping;

/// <summary>
/// The pinger lab's checks of a student's <see cref="PingExchange"/> ("send one ping on this socket and wait for its
/// reply"): replies and their RTT, sent on the socket the library hands over, timeouts, a late echo that must not be taken
/// for the next ping's, and statistics that agree with what the server did. The student's function runs inside the
/// library's own ping loop (<see cref="PingClient.PingAsync"/> with <see cref="PingClientOptions.Exchange"/>), against
/// real servers on loopback.
/// <para>
/// The lab's decision on a client that opens a new socket for each ping: not accepted. It escapes the late echo instead
/// of recognising it (the echo goes to a closed port), which hides the lesson; the textbook's client, like
/// <c>ping</c>, has one socket for the run, and the check that all pings leave from it says so.
/// </para>
/// <code>await PingStudentChecks.RunAsync(SendOnePing)</code>
/// </summary>
public static class PingStudentChecks
{
    public const string Lab = "02-udp-pinger";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);

    /// <summary>Why the RTT clock matters: said when the RTTs look right, since a wall-clock RTT usually looks right too.</summary>
    internal const string ClockNote = "RTTs from Stopwatch are monotonic; DateTime.Now is the wall clock, which NTP or an administrator can set back or forward during a ping (an RTT then comes out negative or off by the jump), so use Stopwatch even where both agree.";

    public static Task<ReportCard> RunAsync(PingExchange exchange, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(exchange), cancellationToken);

    /// <summary>
    /// The battery for a student's function that runs elsewhere (the grader's judge: <c>Checks/Grading</c>), on a
    /// socket of its own there: <paramref name="localEndPointOf"/> tells, for the socket the library handed over here,
    /// the local address of the student's socket over there (null while it was never used).
    /// </summary>
    internal static Task<ReportCard> RunAsync(PingExchange exchange, Func<Socket, IPEndPoint?> localEndPointOf, CancellationToken cancellationToken) =>
        CheckRunner.RunAsync(Lab, Checks(exchange, localEndPointOf), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(PingExchange exchange) => Checks(exchange, null);

    private static IReadOnlyList<StudentCheck> Checks(PingExchange exchange, Func<Socket, IPEndPoint?>? localEndPointOf) =>
    [
        new("replies: the echo of each ping, sent on your socket, with its RTT",
            "Send the payload's ASCII bytes on the socket you are given (SendTo to request.Server, like sendto), receive the echo (ReceiveFrom, like recvfrom), decode only the bytes received, and return a Reply with this ping's sequence number and the time from just before the send to the echo. " + ClockNote,
            async token =>
            {
                await using var server = new DelayedEchoServer(new Dictionary<int, TimeSpan>());
                var (replies, local) = await RunAsync(exchange, localEndPointOf, new PingClientOptions(server.EndPoint) { Count = 3, Timeout = TimeSpan.FromSeconds(1) }, token);
                for (var i = 0; i < 3; i++)
                {
                    var (reply, sequence) = (replies[i], i + 1);
                    var from = server.Sender(sequence);
                    Expect(from is not null, $"ping {sequence} never reached the server");
                    Expect(local is not null && from!.Port == local.Port,
                        local is null ? $"ping {sequence} came from port {from!.Port}, but the socket you were given was never used: send every ping on it (one socket for the whole run, as in the lab's skeleton)"
                                      : $"ping {sequence} came from port {from!.Port}, not from the socket you were given (port {local.Port}): send every ping on it, one socket for the whole run (a new socket per ping only escapes late echoes, it does not recognise them)");
                    Expect(reply.Outcome == PingOutcome.Reply, $"ping {sequence}: {reply.Outcome}, expected a reply (the server answers every ping at once)");
                    Expect(reply.Sequence == sequence, $"ping {sequence} came back with sequence number {reply.Sequence}");
                    var echo = server.Echo(sequence);
                    Expect(reply.Text == echo,
                        reply.Text?.StartsWith(echo ?? "\u0001", StringComparison.Ordinal) == true
                            ? $"ping {sequence}: the text has {reply.Text.Length} characters, the echo {echo!.Length}: decode only the bytes ReceiveFrom received, not the whole buffer"
                            : $"ping {sequence}: the text is \"{reply.Text}\", expected the server's echo \"{echo}\"");
                    Expect(reply.Rtt is { } rtt && rtt > TimeSpan.Zero && rtt < TimeSpan.FromSeconds(1), $"ping {sequence}: RTT {reply.Rtt?.TotalMilliseconds:0.###} ms, expected more than 0 and less than the 1 s timeout");
                }
                return $"3 replies on your socket (port {local!.Port}), RTTs {string.Join(", ", replies.Select(r => $"{r.RttMilliseconds:0.###} ms"))}. {ClockNote}";
            }, CheckTimeout),
        new("timeouts: \"Request timed out\" after at most the timeout",
            "Wait at most request.Timeout for the echo: set socket.ReceiveTimeout (like settimeout) and catch the SocketException (TimedOut) a blocking ReceiveFrom then throws, or cancel ReceiveFromAsync with a CancellationTokenSource that cancels after request.Timeout; either way return PingReply.TimedOut(request.Sequence) instead of waiting for ever or letting the exception out.",
            async token =>
            {
                await using var server = PingServer.Start(new PingServerOptions { LossProbability = 1 });
                var clock = Stopwatch.StartNew();
                var (replies, _) = await RunAsync(exchange, localEndPointOf, new PingClientOptions(server.EndPoint) { Count = 2, Timeout = TimeSpan.FromMilliseconds(300) }, token);
                Expect(replies.All(r => r.Outcome == PingOutcome.Timeout), $"outcomes {string.Join(", ", replies.Select(r => r.Outcome))}, expected Timeout for both: the server dropped every ping");
                Expect(clock.Elapsed < TimeSpan.FromSeconds(2.5), $"2 pings with a 0.3 s timeout took {clock.Elapsed.TotalSeconds:0.0} s: wait no longer than request.Timeout");
                return $"2 × Request timed out in {clock.Elapsed.TotalSeconds:0.00} s";
            }, CheckTimeout),
        new("a late echo of ping 1 is not taken for ping 2's reply",
            "The socket is the same for every ping, so an echo that comes after its ping timed out arrives while the next ping waits. Read the sequence number in the echo (the second word: PING 2 …); if it is not request.Sequence, drop the datagram and keep receiving until your own echo or the rest of the timeout.",
            async token =>
            {
                // Ping 1 is answered after 3.6 s (its timeout is 3 s), ping 2 after 1.6 s: ping 1's late echo arrives
                // while ping 2 waits, at least 1 s before ping 2's own echo, which comes 1.4 s before ping 2's timeout.
                // A busy machine (a blocking receive on a starved thread pool, a timer fired late) cannot change the
                // outcome: margins of 0.6 s failed a correct client at a load average of 25.
                await using var responder = new DelayedEchoServer(new Dictionary<int, TimeSpan> { [1] = TimeSpan.FromMilliseconds(3600), [2] = TimeSpan.FromMilliseconds(1600) });
                var (replies, _) = await RunAsync(exchange, localEndPointOf, new PingClientOptions(responder.EndPoint) { Count = 2, Timeout = TimeSpan.FromSeconds(3) }, token);
                // On a very busy machine a correct timer can fire late, after the echo was already there: that still
                // counts, as long as the echo was ping 1's own and the measured RTT says it was late.
                var (ping1, ping2) = (replies[0], replies[1]);
                Expect(ping1.Outcome == PingOutcome.Timeout
                       || (ping1.Outcome == PingOutcome.Reply && ping1.Rtt >= TimeSpan.FromSeconds(3) && ping1.Text?.StartsWith("PING 1 ", StringComparison.Ordinal) == true),
                    $"ping 1: {ping1.Outcome} after {ping1.RttMilliseconds:0.#} ms, expected Timeout (its echo came after 3.6 s, the timeout was 3 s)");
                Expect(ping2.Text?.StartsWith("PING 1 ", StringComparison.Ordinal) != true,
                    $"ping 2 took \"{ping2.Text}\", ping 1's late echo, for its own reply (RTT {ping2.RttMilliseconds:0.#} ms): check the sequence number in the echo");
                Expect(ping2.Outcome == PingOutcome.Reply && ping2.Text?.StartsWith("PING 2 ", StringComparison.Ordinal) == true,
                    ping2.Outcome == PingOutcome.Timeout
                        ? "ping 2 timed out, but its echo came 1.6 s after it was sent (the timeout was 3 s): after dropping ping 1's late echo, keep waiting for your own"
                        : $"ping 2: {ping2.Outcome} \"{ping2.Text}\", expected its own echo \"PING 2 …\"");
                return "ping 1 timed out; ping 2 dropped ping 1's late echo and got its own";
            }, CheckTimeout + TimeSpan.FromSeconds(4)),
        new("statistics agree with what the server did",
            "Every ping must end as exactly one Reply or Timeout with its own sequence number; the library counts them into the statistics (sent, received, loss, min/avg/max RTT).",
            async token =>
            {
                await using var server = PingServer.Start(new PingServerOptions { LossProbability = 0.3, Seed = 7 });
                var (replies, _) = await RunAsync(exchange, localEndPointOf, new PingClientOptions(server.EndPoint) { Count = 10, Timeout = TimeSpan.FromMilliseconds(500) }, token);
                var statistics = PingStatistics.From(replies);
                // The server counts an echo after sending it: the last echo can be in the student's hands before it is
                // in the counters (seen in CI). Wait, bounded, until the server has accounted for the 10 pings.
                var counters = server.Counters;
                for (var waited = Stopwatch.StartNew(); counters.Echoed + counters.Dropped < 10 && waited.Elapsed < TimeSpan.FromSeconds(2); counters = server.Counters)
                    await Task.Delay(10, token).ConfigureAwait(false);
                Expect(statistics.Sent == 10, $"{statistics.Sent} pings counted, 10 sent");
                Expect(replies.Select(r => r.Sequence).SequenceEqual(Enumerable.Range(1, 10)), $"sequence numbers {string.Join(" ", replies.Select(r => r.Sequence))}, expected 1 to 10");
                Expect(statistics.Received == counters.Echoed, $"{statistics.Received} replies counted, the server echoed {counters.Echoed} (and dropped {counters.Dropped})");
                Expect(statistics.Min is null || statistics.Min > 0, "an RTT of 0 or less");
                return $"sent 10, received {statistics.Received}, lost {statistics.Lost} ({statistics.LossPercent:0}%), as the server did";
            }, CheckTimeout),
    ];

    /// <summary>
    /// The student's exchange in the library's loop: every ping's result, in order, and the local address of the socket
    /// it was given (null when it was never used). When the check's time is up the socket is closed, so a receive
    /// without a timeout ends instead of blocking a thread for ever; the student's own exceptions are named.
    /// </summary>
    private static async Task<(List<PingReply> Replies, IPEndPoint? Local)> RunAsync(PingExchange exchange, Func<Socket, IPEndPoint?>? localEndPointOf,
        PingClientOptions options, CancellationToken token)
    {
        var replies = new List<PingReply>();
        // Each call counted as the student's (CheckRunner says so when one is still running after the check).
        var thisPing = new Stopwatch();
        await using var client = new PingClient(options with
        {
            Exchange = (socket, request, t) =>
            {
                thisPing.Restart();
                return StudentCalls.RunAsync(() => exchange(socket, request, t));
            },
        });
        IPEndPoint? local = null;
        using (token.Register(client.Abort))
        {
            try
            {
                await foreach (var reply in client.PingAsync(token).ConfigureAwait(false))
                {
                    local ??= localEndPointOf is null ? client.LocalEndPoint : localEndPointOf(client.Socket);
                    if (reply is null) throw new CheckFailedException($"ping {replies.Count + 1}: your function returned null; return a PingReply (PingReply.TimedOut(sequence) when nothing came back)");
                    replies.Add(reply);
                }
            }
            catch (Exception e) when (e is not CheckFailedException && token.IsCancellationRequested)
            {
                throw new CheckFailedException($"ping {replies.Count + 1} was still waiting for its echo after {CheckTimeout.TotalSeconds:0} s, so the check closed your socket: a lost ping must end after request.Timeout (set socket.ReceiveTimeout, or cancel the receive)");
            }
            catch (Exception e) when (CheckRunner.IsOwnTimeout(e))
            {
                throw new CheckFailedException($"ping {replies.Count + 1}: " + CheckRunner.OwnTimeout(e, thisPing.Elapsed, CheckTimeout,
                    "Catch it and return PingReply.TimedOut(request.Sequence): a lost ping is an answer, not an exception that leaves your function"));
            }
        }
        return (replies, local);
    }

    /// <summary>Echoes each ping in upper case after the delay given for its sequence number (others at once), and remembers who sent it.</summary>
    private sealed class DelayedEchoServer : IAsyncDisposable
    {
        private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
        private readonly CancellationTokenSource _stop = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, (IPEndPoint From, string Echo)> _seen = new();
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
                        _seen.TryAdd(sequence, (datagram.RemoteEndPoint, Encoding.ASCII.GetString(PingMessage.ToUpperAscii(datagram.Buffer))));
                        var delay = delays.TryGetValue(sequence, out var d) ? d : TimeSpan.Zero;
                        pending.Add(EchoLaterAsync(datagram, delay));
                    }
                }
                catch (OperationCanceledException) { }
                await Task.WhenAll(pending).ConfigureAwait(false);
            });
        }

        public IPEndPoint EndPoint { get; }

        /// <summary>Where ping <paramref name="sequence"/> came from (null if it never came).</summary>
        public IPEndPoint? Sender(int sequence) => _seen.TryGetValue(sequence, out var seen) ? seen.From : null;

        /// <summary>The text echoed to ping <paramref name="sequence"/>.</summary>
        public string? Echo(int sequence) => _seen.TryGetValue(sequence, out var seen) ? seen.Echo : null;

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

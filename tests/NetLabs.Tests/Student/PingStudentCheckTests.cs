using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Ping;

namespace NetLabs.Tests.Student;

/// <summary>
/// The pinger's report card against student code written as a student would (test data below): two correct solutions
/// written differently (async with a cancelled receive; the textbook's blocking sendto/settimeout/recvfrom) and one with
/// the wall clock pass; each plausible wrong one fails the check named for its mistake, saying what went wrong.
/// Wrong solutions run only the check they must fail, which keeps the area quick.
/// </summary>
public sealed class PingStudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static async Task<CheckResult> RunCheckAsync(PingExchange exchange, string nameStart)
    {
        var check = Assert.Single(PingStudentChecks.Checks(exchange), c => c.Name.StartsWith(nameStart, StringComparison.Ordinal));
        return await CheckRunner.RunOneAsync(check).WaitAsync(Bound);
    }

    [Fact]
    public async Task The_reference_async_solution_passes_every_check()
    {
        var card = await PingStudentChecks.RunAsync(Solutions.Async).WaitAsync(Bound);
        Assert.True(card.AllPassed, card.ToString());
        Assert.Equal(4, card.Passed);
    }

    [Fact]
    public async Task The_textbooks_blocking_settimeout_recvfrom_solution_passes_every_check()
    {
        var card = await PingStudentChecks.RunAsync(Solutions.Blocking).WaitAsync(Bound);
        Assert.True(card.AllPassed, card.ToString());
    }

    [Fact]
    public async Task A_wall_clock_rtt_passes_and_the_card_says_why_the_monotonic_clock_is_better()
    {
        var result = await RunCheckAsync(Solutions.WallClock, "replies");
        Assert.True(result.Passed, result.ToString());
        Assert.Contains("DateTime.Now is the wall clock", result.Detail);
    }

    /// <summary>Each plausible wrong solution, the check it must fail, and what that check must say.</summary>
    public static TheoryData<string, string, string> WrongSolutions => new()
    {
        { nameof(Solutions.AnyDatagram), "a late echo", "ping 2 took \"PING 1 " },             // no sequence check: ping 1's late echo taken
        { nameof(Solutions.GivesUpOnForeignEcho), "a late echo", "keep waiting for your own" }, // checks, but gives up on a foreign echo
        { nameof(Solutions.NewSocketPerPing), "replies", "the socket you were given was never used" },
        { nameof(Solutions.WholeBuffer), "replies", "decode only the bytes" },
    };

    [Theory]
    [MemberData(nameof(WrongSolutions))]
    public async Task A_wrong_solution_fails_the_check_named_for_its_mistake(string solution, string check, string detailContains)
    {
        var exchange = typeof(Solutions).GetMethod(solution)!.CreateDelegate<PingExchange>();
        var result = await RunCheckAsync(exchange, check);
        Assert.False(result.Passed, result.ToString());
        Assert.Contains(detailContains, result.Detail);
    }

    [Fact]
    public async Task A_receive_timeout_whose_exception_escapes_is_named_not_taken_for_an_endless_loop()
    {
        var result = await RunCheckAsync(Solutions.TimeoutEscapes, "timeouts");
        Assert.False(result.Passed, result.ToString());
        Assert.Contains("your own timeout fired", result.Detail);
        Assert.DoesNotContain("gave up", result.Detail);
        Assert.True(result.Duration < TimeSpan.FromSeconds(5), $"{result.Duration}: it failed at the first timeout, not at the check's");
    }

    [Fact]
    public async Task A_receive_without_timeout_is_stopped_by_closing_its_socket_and_named()
    {
        var check = PingStudentChecks.Checks(Solutions.NoTimeout).Single(c => c.Name.StartsWith("timeouts", StringComparison.Ordinal));
        var result = await CheckRunner.RunOneAsync(check with { Timeout = TimeSpan.FromSeconds(1) }).WaitAsync(Bound);
        Assert.False(result.Passed, result.ToString());
        Assert.Contains("still waiting for its echo", result.Detail);
        Assert.Contains("closed your socket", result.Detail);
    }

    /// <summary>What students write for the gap, right and wrong.</summary>
    internal static class Solutions
    {
        private static readonly EndPoint Anyone = new IPEndPoint(IPAddress.Any, 0);

        private static bool IsMine(ReadOnlySpan<byte> echo, PingRequest request)
        {
            var words = Encoding.ASCII.GetString(echo).Split(' ');
            return words.Length >= 2 && words[1] == request.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        private static PingReply Reply(PingRequest request, TimeSpan rtt, byte[] buffer, int length, EndPoint from) =>
            new(request.Sequence, PingOutcome.Reply, rtt, Encoding.ASCII.GetString(buffer, 0, length), (IPEndPoint)from);

        /// <summary>Correct: async send, a receive cancelled after the timeout, foreign echoes dropped.</summary>
        public static async Task<PingReply> Async(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(request.Timeout);
            var buffer = new byte[2048];
            try
            {
                while (true)
                {
                    var echo = await socket.ReceiveFromAsync(buffer, SocketFlags.None, Anyone, timeout.Token);
                    if (IsMine(buffer.AsSpan(0, echo.ReceivedBytes), request)) return Reply(request, clock.Elapsed, buffer, echo.ReceivedBytes, echo.RemoteEndPoint);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return PingReply.TimedOut(request.Sequence);
            }
        }

        /// <summary>Correct, the textbook's way: blocking sendto, settimeout (what is left of it) and recvfrom.</summary>
        public static Task<PingReply> Blocking(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var sent = Stopwatch.GetTimestamp();
            socket.SendTo(Encoding.ASCII.GetBytes(request.Payload), request.Server);
            var buffer = new byte[2048];
            while (true)
            {
                var left = request.Timeout - Stopwatch.GetElapsedTime(sent);
                if (left <= TimeSpan.Zero) return Task.FromResult(PingReply.TimedOut(request.Sequence));
                socket.ReceiveTimeout = (int)Math.Ceiling(left.TotalMilliseconds);
                var from = Anyone;
                int length;
                try
                {
                    length = socket.ReceiveFrom(buffer, ref from);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    return Task.FromResult(PingReply.TimedOut(request.Sequence));
                }
                if (IsMine(buffer.AsSpan(0, length), request)) return Task.FromResult(Reply(request, Stopwatch.GetElapsedTime(sent), buffer, length, from));
            }
        }

        /// <summary>Correct but for the clock: RTT from DateTime.Now.</summary>
        public static async Task<PingReply> WallClock(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var sent = DateTime.Now;
            await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, cancellationToken);
            var buffer = new byte[2048];
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(request.Timeout);
            var echo = await socket.ReceiveFromAsync(buffer, SocketFlags.None, Anyone, timeout.Token);
            return Reply(request, DateTime.Now - sent, buffer, echo.ReceivedBytes, echo.RemoteEndPoint);
        }

        /// <summary>Wrong: takes the first datagram, whatever ping it answers.</summary>
        public static async Task<PingReply> AnyDatagram(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(request.Timeout);
            var buffer = new byte[2048];
            try
            {
                var echo = await socket.ReceiveFromAsync(buffer, SocketFlags.None, Anyone, timeout.Token);
                return Reply(request, clock.Elapsed, buffer, echo.ReceivedBytes, echo.RemoteEndPoint);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return PingReply.TimedOut(request.Sequence);
            }
        }

        /// <summary>Wrong: sees that the echo is not its own, and calls the ping lost at once.</summary>
        public static async Task<PingReply> GivesUpOnForeignEcho(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var reply = await AnyDatagram(socket, request, cancellationToken);
            return reply.Outcome == PingOutcome.Reply && !IsMine(Encoding.ASCII.GetBytes(reply.Text!), request) ? PingReply.TimedOut(request.Sequence) : reply;
        }

        /// <summary>Wrong for this lab: a fresh socket for each ping (the late echo goes to a closed port), the given one unused.</summary>
        public static async Task<PingReply> NewSocketPerPing(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            using var own = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            return await AnyDatagram(own, request, cancellationToken);
        }

        /// <summary>Wrong: decodes the whole 2048-byte buffer, NULs and all.</summary>
        public static async Task<PingReply> WholeBuffer(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var reply = await Async(socket, request, cancellationToken);
            return reply with { Text = reply.Text + new string('\0', 2048 - reply.Text!.Length) };
        }

        /// <summary>Wrong: settimeout but no except: the receive's SocketException (TimedOut) leaves the function.</summary>
        public static Task<PingReply> TimeoutEscapes(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var sent = Stopwatch.GetTimestamp();
            socket.SendTo(Encoding.ASCII.GetBytes(request.Payload), request.Server);
            socket.ReceiveTimeout = (int)request.Timeout.TotalMilliseconds;
            var buffer = new byte[2048];
            var from = Anyone;
            var length = socket.ReceiveFrom(buffer, ref from);
            return Task.FromResult(Reply(request, Stopwatch.GetElapsedTime(sent), buffer, length, from));
        }

        /// <summary>Wrong: no timeout at all; a lost ping blocks in recvfrom for ever.</summary>
        public static Task<PingReply> NoTimeout(Socket socket, PingRequest request, CancellationToken cancellationToken)
        {
            var sent = Stopwatch.GetTimestamp();
            socket.SendTo(Encoding.ASCII.GetBytes(request.Payload), request.Server);
            var buffer = new byte[2048];
            var from = Anyone;
            var length = socket.ReceiveFrom(buffer, ref from);
            return Task.FromResult(Reply(request, Stopwatch.GetElapsedTime(sent), buffer, length, from));
        }
    }
}

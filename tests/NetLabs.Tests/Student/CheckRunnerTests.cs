using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Web;

namespace NetLabs.Tests.Student;

/// <summary>
/// The runner tells the two timeouts apart and says when a student's code outlives its check. Student code is written
/// as a student would: a <c>WaitAsync</c> around a read that gives up after 1–2 s is the student's own timeout (named
/// with where it waited), never the check's limit nor an "endless loop"; a busy loop that ignores its token and its
/// closed socket is reported as still running and using the CPU, with the way to stop it. Every busy loop here also
/// watches a flag of the test's own, so the test host does not spin after the test; the class runs alone
/// (<see cref="BusyLoops"/>), so its spinning core slows no other test.
/// </summary>
[Collection(nameof(BusyLoops))]
public sealed class CheckRunnerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static void AssertOwnTimeout(CheckResult row, string method)
    {
        Assert.False(row.Passed, row.ToString());
        Assert.Contains("own timeout fired after", row.Detail);
        Assert.Contains($"in {method}", row.Detail);
        Assert.Contains("TimeoutException", row.Detail);
        Assert.DoesNotContain("restart the kernel", row.Detail);
        Assert.DoesNotContain("never finished", row.Detail);
        Assert.DoesNotContain("the check's own limit): ", row.Detail);
    }

    [Fact]
    public async Task A_students_WaitAsync_timeout_is_theirs_not_the_checks_limit()
    {
        static async Task<string> WaitForAReplyThatNeverComes(CancellationToken token)
        {
            var never = new TaskCompletionSource<string>();
            return await never.Task.WaitAsync(TimeSpan.FromMilliseconds(300), token);
        }
        var row = await CheckRunner.RunOneAsync(new StudentCheck("a reply", "wait for it", WaitForAReplyThatNeverComes, TimeSpan.FromSeconds(10))).WaitAsync(Bound);
        AssertOwnTimeout(row, nameof(WaitForAReplyThatNeverComes));
        Assert.Contains("the check's own limit is 10 s and was not reached", row.Detail);
        Assert.True(row.Duration < TimeSpan.FromSeconds(10), row.ToString());
    }

    [Fact]
    public async Task The_checks_own_limit_is_named_as_such()
    {
        var row = await CheckRunner.RunOneAsync(new StudentCheck("a reply", "wait for it",
            async token => { await Task.Delay(Timeout.Infinite, token); return ""; }, TimeSpan.FromMilliseconds(300))).WaitAsync(Bound);
        Assert.False(row.Passed);
        Assert.StartsWith("gave up after 0.3 s (the check's own limit)", row.Detail);
        Assert.DoesNotContain("own timeout fired", row.Detail);
    }

    // ---- web: a handler that reads "until the client is done", giving up after 1 s of silence ----

    private static async Task HandlerThatWaitsForTheClientToFinish(WebConnection connection)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            // "read until the client has sent everything": the client sends nothing after its request, so this gives up.
            var n = await connection.Stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            if (n == 0) break;
            received.Write(buffer, 0, n);
        }
        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    }

    [Fact]
    public async Task Web_a_handlers_own_WaitAsync_timeout_is_named_with_where_it_waited()
    {
        var check = WebStudentChecks.Checks(HandlerThatWaitsForTheClientToFinish)[0];
        var row = await CheckRunner.RunOneAsync(check).WaitAsync(Bound);
        AssertOwnTimeout(row, nameof(HandlerThatWaitsForTheClientToFinish));
        AssertFiredAfter(row.Detail, "your handler's own timeout fired after ", 1.0);
        Assert.Contains("the client sends nothing after the empty line", row.Detail);
    }

    // ---- ping: the student's own WaitAsync, not caught ----

    private static async Task<PingReply> PingWithAnUncaughtWaitAsync(Socket socket, PingRequest request, CancellationToken token)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, token);
        var buffer = new byte[1024];
        var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), token).AsTask().WaitAsync(request.Timeout, token);
        return new PingReply(request.Sequence, PingOutcome.Reply, clock.Elapsed, Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
    }

    [Fact]
    public async Task Ping_the_students_own_timeout_says_which_ping_and_what_to_return()
    {
        var check = Assert.Single(PingStudentChecks.Checks(PingWithAnUncaughtWaitAsync), c => c.Name.StartsWith("timeouts", StringComparison.Ordinal));
        var row = await CheckRunner.RunOneAsync(check).WaitAsync(Bound);
        AssertOwnTimeout(row, nameof(PingWithAnUncaughtWaitAsync));
        Assert.StartsWith("ping 1: your own timeout fired after ", row.Detail);
        AssertFiredAfter(row.Detail, "your own timeout fired after ", 0.3);
        Assert.Contains("return PingReply.TimedOut(request.Sequence)", row.Detail);
    }

    // ---- mail: forgets the lone "." and waits 1.5 s for the 250 with WaitAsync ----

    private static async Task SendMailWithoutTheEndOfData(Stream connection, SmtpEnvelope envelope, string message, CancellationToken token)
    {
        var buffer = new byte[1024];
        async Task Command(string? line)
        {
            if (line is not null) await connection.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), token);
            // reads until the line whose fourth character is a space, giving up after 1.5 s
            var reply = "";
            while (!reply.Split("\r\n").Any(l => l.Length > 3 && l[3] == ' '))
            {
                var n = await connection.ReadAsync(buffer, token).AsTask().WaitAsync(TimeSpan.FromSeconds(1.5), token);
                if (n == 0) throw new IOException("closed");
                reply += Encoding.ASCII.GetString(buffer, 0, n);
            }
        }
        await Command(null);
        await Command("EHLO alice");
        await Command($"MAIL FROM:<{envelope.From}>");
        foreach (var to in envelope.To) await Command($"RCPT TO:<{to}>");
        await Command("DATA");
        await connection.WriteAsync(Encoding.ASCII.GetBytes(message), token);   // no "\r\n.\r\n"
        await Command(null);
        await Command("QUIT");
    }

    [Fact]
    public async Task Mail_the_students_own_timeout_names_the_dialogues_last_words()
    {
        var check = MailStudentChecks.Checks(SendMailWithoutTheEndOfData)[0];
        var row = await CheckRunner.RunOneAsync(check).WaitAsync(Bound);
        AssertOwnTimeout(row, "Command");   // the innermost of the student's methods: the local function that reads a reply
        AssertFiredAfter(row.Detail, "own timeout fired after ", 1.5);
        Assert.Contains("last read \"354", row.Detail);
        Assert.Contains("a line with a lone \".\"", row.Detail);
    }

    // ---- busy loops ----

    /// <summary>Runs the check made for code that spins until <c>testOver()</c>, and ends the spinning after it.</summary>
    private static async Task<CheckResult> WithBusyLoopAsync(Func<Func<bool>, StudentCheck> checkOf)
    {
        using var testOver = new CancellationTokenSource();
        try
        {
            return await CheckRunner.RunOneAsync(checkOf(() => testOver.IsCancellationRequested)).WaitAsync(Bound);
        }
        finally
        {
            await testOver.CancelAsync();
        }
    }

    private static void AssertStillRunning(CheckResult row)
    {
        Assert.False(row.Passed, row.ToString());
        Assert.Contains("Your code is still running and using the CPU", row.Detail);
        Assert.Contains("restart the kernel", row.Detail);
        Assert.Contains("`netlabs notebooks check` grades in a process of its own and ends it", row.Detail);
    }

    [Fact]
    public async Task Web_a_busy_handler_is_reported_still_running_and_using_the_CPU_with_how_to_stop_it()
    {
        var row = await WithBusyLoopAsync(testOver => WebStudentChecks.Checks(connection =>
        {
            // A student's busy loop: no await, no look at the connection.
            var spins = 0L;
            while (!testOver()) spins++;
            return Task.CompletedTask;
        })[3] with { Timeout = TimeSpan.FromSeconds(6) });   // 404
        AssertStillRunning(row);
        Assert.Contains("no answer within 4 s: your handler wrote nothing and had not returned", row.Detail);
    }

    [Fact]
    public async Task Mail_a_dialogue_that_spins_past_its_cancelled_token_is_reported_still_running()
    {
        var row = await WithBusyLoopAsync(testOver => MailStudentChecks.Checks(async (connection, envelope, message, token) =>
        {
            await connection.WriteAsync(Encoding.ASCII.GetBytes("EHLO alice\r\n"), token);
            // "wait" for a flag that is never set, without awaiting: burns a core, and never looks at the token
            var replied = false;
            while (!replied && !testOver()) { }
        })[0] with { Timeout = TimeSpan.FromSeconds(2) });
        AssertStillRunning(row);
        Assert.StartsWith("gave up after 2 s (the check's own limit): your code never finished", row.Detail);
    }

    [Fact]
    public async Task A_failing_handler_that_returns_is_not_reported_still_running()
    {
        ConnectionHandler hangsUp = _ => Task.CompletedTask;
        var row = await CheckRunner.RunOneAsync(WebStudentChecks.Checks(hangsUp)[3]).WaitAsync(Bound);
        Assert.False(row.Passed);
        Assert.Contains("closed with no answer", row.Detail);
        Assert.DoesNotContain("still running", row.Detail);
    }

    /// <summary>
    /// The card names how long the student's own timeout ran: at least what their code set, and, on a busy machine,
    /// maybe a little more before the runner saw it (never the check's own limit).
    /// </summary>
    private static void AssertFiredAfter(string detail, string words, double seconds)
    {
        var fired = System.Text.RegularExpressions.Regex.Match(detail, System.Text.RegularExpressions.Regex.Escape(words) + @"(\d+\.\d) s");
        Assert.True(fired.Success, detail);
        Assert.InRange(double.Parse(fired.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), seconds, seconds + 3);
    }
}

/// <summary>Tests that spin a core on purpose run with no other test beside them.</summary>
[CollectionDefinition(nameof(BusyLoops), DisableParallelization = true)]
public sealed class BusyLoops;

using System.Text;
using NetLabs.Checks;
using NetLabs.Mail;

namespace NetLabs.Tests.Student;

/// <summary>
/// The SMTP lab's report card against student dialogues written on the socket's stream, as test data: correct ones
/// written differently (a byte buffer and its own line splitting; StreamReader/StreamWriter; ours) pass every check,
/// and each classic mistake fails its row for the reason named (one read per reply, the first line of a reply
/// only, no dot-stuffing, reply codes ignored, a bare LF, no lone "."), not for what it breaks later.
/// </summary>
public sealed class MailStudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // ---- correct dialogues, written differently ----

    /// <summary>The K&amp;R skeleton with a real reply reader: a byte buffer, lines cut at CRLF, read until "ddd ".</summary>
    private static async Task BufferedDialogue(Stream connection, SmtpEnvelope envelope, string message, CancellationToken token)
    {
        var pending = new StringBuilder();
        var buffer = new byte[64];   // small on purpose: lines come in several reads
        async Task<string> Line()
        {
            while (true)
            {
                var text = pending.ToString();
                var end = text.IndexOf("\r\n", StringComparison.Ordinal);
                if (end >= 0) { pending.Remove(0, end + 2); return text[..end]; }
                var n = await connection.ReadAsync(buffer, token);
                if (n == 0) throw new IOException("closed");
                pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        async Task Command(string command, params string[] codes)
        {
            if (command.Length > 0) await connection.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), token);
            string line;
            do line = await Line(); while (line[3] == '-');
            if (!codes.Contains(line[..3])) throw new InvalidOperationException($"{command}: {line}");
        }
        await Command("", "220");
        await Command("HELO student.test", "250");
        await Command($"MAIL FROM:<{envelope.From}>", "250");
        foreach (var to in envelope.To) await Command($"RCPT TO:<{to}>", "250", "251");
        await Command("DATA", "354");
        // Dot-stuffing on the whole text at once: a dot after every line start gets another one.
        var data = ("\r\n" + message.TrimEnd('\r', '\n')).Replace("\r\n.", "\r\n..", StringComparison.Ordinal)[2..];
        await Command(data + "\r\n.", "250");
        await Command("QUIT", "221");
    }

    /// <summary>With StreamReader and StreamWriter (NewLine "\r\n"): ReadLine in a loop until the last line of a reply.</summary>
    private static async Task ReaderWriterDialogue(Stream connection, SmtpEnvelope envelope, string message, CancellationToken token)
    {
        using var reader = new StreamReader(connection, Encoding.ASCII, leaveOpen: true);
        await using var writer = new StreamWriter(connection, Encoding.ASCII, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
        async Task<int> Reply()
        {
            while (true)
            {
                var line = await reader.ReadLineAsync(token) ?? throw new IOException("closed");
                if (line.Length == 3 || line[3] == ' ') return int.Parse(line[..3]);
            }
        }
        void Want(int got, int wanted) { if (got != wanted) throw new InvalidDataException($"expected {wanted}, got {got}"); }
        Want(await Reply(), 220);
        await writer.WriteLineAsync("EHLO rw.test"); Want(await Reply(), 250);
        await writer.WriteLineAsync($"MAIL FROM:<{envelope.From}>"); Want(await Reply(), 250);
        foreach (var to in envelope.To) { await writer.WriteLineAsync($"RCPT TO:<{to}>"); Want(await Reply(), 250); }
        await writer.WriteLineAsync("DATA"); Want(await Reply(), 354);
        foreach (var line in message.Split("\r\n")[..^1]) await writer.WriteLineAsync(line.StartsWith('.') ? "." + line : line);
        await writer.WriteLineAsync("."); Want(await Reply(), 250);
        await writer.WriteLineAsync("QUIT"); Want(await Reply(), 221);
    }

    public static TheoryData<string> CorrectDialogues() => ["buffered", "reader-writer", "ours"];

    private static SmtpClientDialogue Correct(string name) => name switch
    {
        "buffered" => BufferedDialogue,
        "reader-writer" => ReaderWriterDialogue,
        _ => SmtpDialogue.RunAsync,
    };

    [Theory]
    [MemberData(nameof(CorrectDialogues))]
    public async Task Correct_dialogues_written_differently_pass_every_check(string name)
    {
        var card = await MailStudentChecks.RunAsync(Correct(name)).WaitAsync(Bound);
        Assert.True(card.AllPassed, card.ToString());
        Assert.Equal(5, card.Passed);
    }

    // ---- wrong dialogues: each fails for the reason named ----

    /// <summary>
    /// The K&amp;R skeleton taken literally: one recv(1024) per reply. It checks codes and dot-stuffs, so only the
    /// multi-line row fails, and it says why.
    /// </summary>
    internal static SmtpClientDialogue OneReadPerReply(bool stuff = true, bool checkCodes = true, string lineEnd = "\r\n", bool endWithDot = true) =>
        async (connection, envelope, message, token) =>
        {
            var buffer = new byte[1024];
            async Task Recv(string code)
            {
                var n = await connection.ReadAsync(buffer, token);
                var reply = Encoding.ASCII.GetString(buffer, 0, n);
                if (checkCodes && !reply.StartsWith(code, StringComparison.Ordinal)) throw new InvalidOperationException($"{code} reply not received from server: {reply}");
            }
            Task Send(string text) => connection.WriteAsync(Encoding.ASCII.GetBytes(text), token).AsTask();
            await Recv("220");
            await Send("EHLO alice" + lineEnd); await Recv("250");
            await Send($"MAIL FROM:<{envelope.From}>" + lineEnd); await Recv("250");
            foreach (var to in envelope.To) { await Send($"RCPT TO:<{to}>" + lineEnd); await Recv("250"); }
            await Send("DATA" + lineEnd); await Recv("354");
            var body = stuff ? ("\r\n" + message).Replace("\r\n.", "\r\n..", StringComparison.Ordinal)[2..] : message;
            await Send(body + (endWithDot ? "." + lineEnd : "")); await Recv("250");
            await Send("QUIT" + lineEnd); await Recv("221");
        };

    [Fact]
    public async Task One_read_per_reply_fails_the_multi_line_row_naming_a_reply_that_was_still_coming()
    {
        var card = await MailStudentChecks.RunAsync(OneReadPerReply()).WaitAsync(Bound);
        var row = AssertOnlyFailure(card, "multi-line replies");
        // Which reply it falls out of step at depends on when its reads are scheduled; that it does, does not.
        Assert.Matches("your dialogue sent \"[^\"]+\" while the \\d{3} reply was still coming \\(it had only \"\\d{3}-[^\"]+\"", row.Detail);
        Assert.Contains("fourth character is a space", row.Hint);
    }

    [Fact]
    public async Task Reading_only_the_first_line_of_each_reply_fails_the_multi_line_row()
    {
        SmtpClientDialogue firstLineOnly = async (connection, envelope, message, token) =>
        {
            using var reader = new StreamReader(connection, Encoding.ASCII, leaveOpen: true);
            async Task Command(string? command, string code)
            {
                if (command is not null) await connection.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), token);
                var line = await reader.ReadLineAsync(token);
                if (line is null || !line.StartsWith(code, StringComparison.Ordinal)) throw new InvalidOperationException($"expected {code}, got {line}");
            }
            await Command(null, "220");
            await Command("EHLO first.line", "250");
            await Command($"MAIL FROM:<{envelope.From}>", "250");
            await Command("QUIT", "221");
        };
        await FailsAsync(firstLineOnly, "multi-line replies", "reply was still coming (it had only \"2");
    }

    [Fact]
    public async Task Missing_dot_stuffing_is_blamed_on_dot_stuffing_not_on_the_reply_to_QUIT()
    {
        var row = await FailsAsync(OneReadPerReply(stuff: false), "dot-stuffing",
            "you sent the message line \".hidden line\" as it is", "one more \".\" in front (dot-stuffing)");
        Assert.DoesNotContain("QUIT", row.Detail);
    }

    [Fact]
    public async Task Ignoring_reply_codes_fails_the_refused_recipient_row_because_it_went_on_to_DATA() =>
        await FailsAsync(OneReadPerReply(checkCodes: false), "reply codes are checked",
            "refused eve@elsewhere.example with 550", "went on to DATA and the message was sent");

    [Fact]
    public async Task Stopping_quietly_after_a_550_fails_asking_for_an_exception()
    {
        SmtpClientDialogue quiet = async (connection, envelope, message, token) =>
        {
            var buffer = new byte[1024];
            async Task<bool> Ok(string? command, string code)
            {
                if (command is not null) await connection.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), token);
                var n = await connection.ReadAsync(buffer, token);
                return Encoding.ASCII.GetString(buffer, 0, n).StartsWith(code, StringComparison.Ordinal);
            }
            if (!await Ok(null, "220") || !await Ok("EHLO quiet", "250") || !await Ok($"MAIL FROM:<{envelope.From}>", "250")) return;
            foreach (var to in envelope.To) if (!await Ok($"RCPT TO:<{to}>", "250")) return;   // stops, but says nothing
            await Ok("DATA", "354");
        };
        await FailsAsync(quiet, "reply codes are checked", "returned normally after the 550: throw an exception");
    }

    [Fact]
    public async Task A_bare_LF_is_named_as_the_missing_CR_not_as_a_timeout() =>
        await FailsAsync(OneReadPerReply(lineEnd: "\n"), "a message arrives", "your line \"EHLO alice\" ended with \"\\n\" alone", "\"\\r\\n\" (CRLF)");

    [Fact]
    public async Task A_message_without_its_lone_dot_is_named_as_the_missing_end_of_data() =>
        await FailsAsync(OneReadPerReply(endWithDot: false), "a message arrives", "still waiting for the end of the message", "lone \".\"");

    [Fact]
    public async Task A_loop_that_ignores_its_token_is_stopped_and_the_row_says_what_the_server_waited_for()
    {
        // Waits for a blank line that never comes, without the token: the check closes the connection and stops the
        // stream, so the loop ends with an exception instead of running on after the card.
        SmtpClientDialogue waitsForever = async (connection, envelope, message, token) =>
        {
            var buffer = new byte[256];
            var text = "";
            await connection.WriteAsync(Encoding.ASCII.GetBytes("EHLO waiting\r\n"));
            while (!text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                try { text += Encoding.ASCII.GetString(buffer, 0, await connection.ReadAsync(buffer)); }
                catch (ObjectDisposedException) { }   // even a loop that swallows the closed socket ends: the next read throws IOException
            }
        };
        var row = await FailsAsync(waitsForever, "a message arrives", "your dialogue was still waiting after 4 s", "it last sent \"EHLO waiting\"");
        Assert.DoesNotContain("never finished", row.Detail);
    }

    [Fact]
    public async Task A_loop_that_reads_on_after_the_server_closed_is_told_that_0_means_the_end()
    {
        SmtpClientDialogue spins = async (connection, envelope, message, token) =>
        {
            var buffer = new byte[256];
            await connection.WriteAsync(Encoding.ASCII.GetBytes("QUIT\r\n"), token);
            var text = "";
            while (!text.Contains("250", StringComparison.Ordinal))   // never comes: the server said 221 and closed
                text += Encoding.ASCII.GetString(buffer, 0, await connection.ReadAsync(buffer, token));
        };
        await FailsAsync(spins, "a message arrives", "a read of 0 bytes means the end, stop reading");
    }

    [Fact]
    public async Task An_empty_gap_fails_every_row_as_not_written_yet()
    {
        var card = await MailStudentChecks.RunAsync((_, _, _, _) => throw new NotImplementedException("Fill in smtp-dialogue")).WaitAsync(Bound);
        Assert.Equal("report card 03-smtp: 0 passed, 5 failed", card.SummaryLine);
        Assert.All(card.Results, r => Assert.Equal("not written yet (Fill in smtp-dialogue)", r.Detail));
    }

    [Fact]
    public void Hints_point_to_the_idea_and_never_to_a_function_of_ours()
    {
        foreach (var check in MailStudentChecks.Checks(SmtpDialogue.RunAsync))
            Assert.DoesNotMatch(@"Async|SmtpData|SmtpRawClient|SmtpDialogue|Encode", check.Hint);
    }

    /// <summary>Runs the one check whose name starts so, and expects it to fail saying all of <paramref name="detailContains"/>.</summary>
    private static async Task<CheckResult> FailsAsync(SmtpClientDialogue dialogue, string nameStart, params string[] detailContains)
    {
        var check = Assert.Single(MailStudentChecks.Checks(dialogue), c => c.Name.StartsWith(nameStart, StringComparison.Ordinal));
        var row = await CheckRunner.RunOneAsync(check).WaitAsync(Bound);
        Assert.False(row.Passed, row.ToString());
        foreach (var expected in detailContains) Assert.Contains(expected, row.Detail);
        return row;
    }

    private static CheckResult AssertOnlyFailure(ReportCard card, string nameStart)
    {
        var failed = Assert.Single(card.Results, r => !r.Passed);
        Assert.StartsWith(nameStart, failed.Name, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(failed.Hint));
        return failed;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Mail;

/// <summary>
/// The SMTP lab's checks of a student's <see cref="SmtpClientDialogue"/> ("the SMTP dialogue", written on the
/// socket's stream: greeting, EHLO, MAIL FROM, RCPT TO, DATA, the message, QUIT): a message that arrives, several
/// recipients, reply codes checked, dot-stuffing, and multi-line replies that arrive in pieces. The library only
/// connects and records what travels (<see cref="SmtpWireTap"/>), so each failure is named from what the server
/// saw and what crossed the wire (a bare LF, a missing lone ".", a command sent in the middle of a reply) rather
/// than from whatever the student's code threw later.
/// <code>await MailStudentChecks.RunAsync(SendMail)</code>
/// </summary>
public static class MailStudentChecks
{
    public const string Lab = "03-smtp";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);

    /// <summary>How long the student's dialogue may take in one check; then its connection is closed.</summary>
    private static readonly TimeSpan DialogueTimeout = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The scripted server's pauses alone take about 3 s of a correct dialogue (1.5 s before the greeting's last line,
    /// 0.2 s before every later line), so its dialogue gets them on top of the usual limit: a correct client on a busy
    /// machine must never be stopped for the server's own slowness.
    /// </summary>
    private static readonly TimeSpan ScriptedDialogueTimeout = DialogueTimeout + TimeSpan.FromSeconds(4);

    private const string Alice = "alice@netlabs.test";

    public static Task<ReportCard> RunAsync(SmtpClientDialogue dialogue, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(dialogue), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(SmtpClientDialogue dialogue) =>
    [
        new("a message arrives, with its envelope, and QUIT ends the session",
            "Read the 220 greeting; then send each command as one line ending in \"\\r\\n\" and read its reply before the next: " +
            "EHLO (250), MAIL FROM:<…> (250), RCPT TO:<…> (250), DATA (354), the message and a line with a lone \".\" (250), QUIT (221).",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("first message", "Hello Bob,\r\nthis came through my own SMTP dialogue.\r\n");
                var run = await RunAsync(dialogue, server.Port, new SmtpEnvelope(Alice, ["bob@localhost"]), message, t);
                var received = await StoredAsync(server, run, t);
                Expect(received.Envelope.From == Alice && received.Envelope.To.SequenceEqual(["bob@localhost"]),
                    $"the server got MAIL FROM <{received.Envelope.From}> and RCPT TO {string.Join(", ", received.Envelope.To)}, expected {Alice} to bob@localhost");
                ExpectSameBody(message, received, run);
                ExpectCleanEnd(run);
                Expect(run.Sent("QUIT") && run.Read("221"), $"the message arrived, but the session did not end with QUIT and its 221 ({run.Last()})");
                return $"stored: {received}; the session ended with QUIT / 221";
            }, token), CheckTimeout),
        new("one RCPT TO for every recipient",
            "One \"RCPT TO:<…>\" for each address in envelope.To, each with its own reply.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("to two", "Hi both.\r\n");
                var run = await RunAsync(dialogue, server.Port, new SmtpEnvelope(Alice, ["bob@localhost", "carol@netlabs.test"]), message, t);
                var received = await StoredAsync(server, run, t);
                Expect(received.Envelope.To.SequenceEqual(["bob@localhost", "carol@netlabs.test"]), $"recipients {string.Join(", ", received.Envelope.To)}, expected bob@localhost, carol@netlabs.test");
                ExpectCleanEnd(run);
                return "both recipients in the envelope";
            }, token), CheckTimeout),
        new("reply codes are checked: a refused recipient stops the dialogue",
            "Look at the three-digit code of every reply and throw an exception when it is not the one you expect " +
            "(550 to RCPT TO: that mailbox is refused); never go on to DATA after it.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("not for everyone", "This should not be sent.\r\n");
                var run = await RunAsync(dialogue, server.Port, new SmtpEnvelope(Alice, ["bob@localhost", "eve@elsewhere.example"]), message, t);
                ExpectCleanWire(run);
                Expect(server.Messages.Count == 0 && !run.Sent("DATA"),
                    $"the server refused eve@elsewhere.example with 550 (relaying denied), yet your dialogue went on to DATA{(server.Messages.Count > 0 ? " and the message was sent" : "")}");
                ExpectNoStall(run);
                Expect(run.Error is not null, "your function returned normally after the 550: throw an exception, so that whoever called it knows the mail was not sent");
                Expect(run.Read("550"), $"your code threw {Describe(run.Error!)} before it had read the server's 550 to RCPT TO:<eve@elsewhere.example> ({run.Last()})");
                return $"stopped with {Describe(run.Error!)}";
            }, token), CheckTimeout),
        new("dot-stuffing: lines that start with \".\" arrive unchanged",
            "After DATA, a line of the message that starts with \".\" is sent with one more \".\" in front (dot-stuffing): " +
            "the server takes one away, and a lone \".\" would end the message right there.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("dots", "line one\r\n.hidden line\r\n.\r\n..two dots\r\nlast line\r\n");
                var run = await RunAsync(dialogue, server.Port, new SmtpEnvelope(Alice, ["bob@localhost"]), message, t);
                ExpectSameBody(message, await StoredAsync(server, run, t), run);
                ExpectCleanEnd(run);
                return "\".hidden line\", \".\" and \"..two dots\" arrived as written (sent as \"..hidden line\", \"..\" and \"...two dots\")";
            }, token), CheckTimeout),
        new("multi-line replies, sent in pieces, are read whole",
            "A reply can have several lines (\"250-…\" goes on, \"250 …\" ends it) and arrive in several pieces: one read returns " +
            "only what has arrived so far. Keep reading until you have the line whose fourth character is a space.",
            async token =>
            {
                await using var server = new ScriptedSmtpServer();
                var run = await RunAsync(dialogue, server.Port, new SmtpEnvelope(Alice, ["bob@localhost"]), Message("multi", "Hi.\r\n"), token, ScriptedDialogueTimeout);
                await server.SettleAsync(TimeSpan.FromSeconds(2), token);   // the connection is closed: it reads what is left
                ExpectCleanWire(run);
                Expect(server.SpokeDuringReply is null, $"your dialogue {server.SpokeDuringReply}: a reply is complete only at its line with a space after the code, and its lines may come in several pieces");
                ExpectCleanEnd(run);
                var verbs = server.Commands.Select(c => c.Split(' ', ':')[0].ToUpperInvariant()).ToArray();
                Expect(verbs is [("EHLO" or "HELO"), "MAIL", "RCPT", "DATA", "QUIT"] && server.SaidQuit,
                    $"the server saw {string.Join(", ", server.Commands)}; expected EHLO, MAIL FROM, RCPT TO, DATA, QUIT");
                return "every multi-line reply read whole, though each line came in its own segment";
            }, CheckTimeout + (ScriptedDialogueTimeout - DialogueTimeout)),
    ];

    /// <summary>What one run of the student's dialogue left: the wire, its exception, and whether we had to stop it.</summary>
    private sealed record DialogueRun(SmtpWireTap Wire, Exception? Error, bool TimedOut, string UnfinishedLine, TimeSpan Elapsed, TimeSpan Limit)
    {
        private IEnumerable<SmtpTranscriptEntry> Lines(SmtpParty party) => Wire.Transcript.Entries.Where(e => e.Party == party);

        /// <summary>The client sent a command starting with <paramref name="verb"/>.</summary>
        public bool Sent(string verb) => Lines(SmtpParty.Client).Any(e => e.Text.StartsWith(verb, StringComparison.OrdinalIgnoreCase));

        /// <summary>The client read a reply line with this code (it reached the student's code, whatever it did with it).</summary>
        public bool Read(string code) => Lines(SmtpParty.Server).Any(e => e.Text.StartsWith(code, StringComparison.Ordinal));

        /// <summary>"it last sent "…" and last read "…"".</summary>
        public string Last()
        {
            var sent = Wire.Transcript.Entries.LastOrDefault(e => e.Party is SmtpParty.Client or SmtpParty.Data);
            var read = Lines(SmtpParty.Server).LastOrDefault();
            return $"it last sent {(sent is null ? "nothing" : $"\"{sent.Text}\"")} and last read {(read is null ? "nothing" : $"\"{read.Text}\"")}";
        }
    }

    private static async Task<DialogueRun> RunAsync(SmtpClientDialogue dialogue, int port, SmtpEnvelope envelope, string message, CancellationToken token,
        TimeSpan? limitAfter = null)
    {
        var dialogueTimeout = limitAfter ?? DialogueTimeout;
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, token).ConfigureAwait(false);
        var wire = new SmtpWireTap(tcp.GetStream());
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        limit.CancelAfter(dialogueTimeout);
        // Closing the socket ends a read that does not look at the token too (a blocking Read, a ReadAsync without it),
        // and a stopped tap makes every later read or write throw, so a loop around them ends as well.
        using var closeOnTimeout = limit.Token.Register(() =>
        {
            wire.Stop($"the check stopped this dialogue after {dialogueTimeout.TotalSeconds:0} s");
            tcp.Dispose();
        });
        Exception? error = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await StudentCalls.RunAsync(() => dialogue(wire, envelope, message, limit.Token)).ConfigureAwait(false);
        }
        catch (NotImplementedException) { throw; }
        catch (Exception e) when (!token.IsCancellationRequested) { error = e; }
        var timedOut = limit.IsCancellationRequested && !token.IsCancellationRequested;
        var unfinished = wire.UnfinishedClientLine;
        wire.Flush(timedOut ? $"stopped after {dialogueTimeout.TotalSeconds:0} s" : "end of the dialogue");
        return new DialogueRun(wire, error, timedOut, unfinished, clock.Elapsed, dialogueTimeout);
    }

    /// <summary>A line that does not end in CRLF is the first thing to fix: the server is still waiting for that line.</summary>
    private static void ExpectCleanWire(DialogueRun run)
    {
        var bare = run.Wire.Transcript.Entries.FirstOrDefault(e => e.Party is SmtpParty.Client or SmtpParty.Data && e.LineEnd == "\n");
        Expect(bare is null, $"your line \"{bare?.Text}\" ended with \"\\n\" alone: every SMTP line, commands and message lines, ends with \"\\r\\n\" (CRLF)");
        Expect(!(run.TimedOut && run.UnfinishedLine.Length > 0),
            $"\"{Escape(run.UnfinishedLine)}\" never got its line end \"\\r\\n\", so the server was still waiting for the rest of that line");
    }

    /// <summary>When the dialogue had to be stopped: say what the server was waiting for.</summary>
    private static void ExpectNoStall(DialogueRun run)
    {
        if (!run.TimedOut) return;
        ExpectCleanWire(run);
        Expect(!run.Wire.InData,
            $"the server was still waiting for the end of the message: after the message, send a line with a lone \".\" (\"\\r\\n.\\r\\n\") ({run.Last()})");
        throw new CheckFailedException($"your dialogue was still waiting after {run.Limit.TotalSeconds:0} s ({run.Last()}): waiting for a reply that had already been read, or for more than one reply?");
    }

    /// <summary>The dialogue ended by itself, without an exception.</summary>
    private static void ExpectCleanEnd(DialogueRun run)
    {
        ExpectCleanWire(run);
        ExpectNoStall(run);
        ExpectNoError(run, "");
    }

    private static void ExpectNoError(DialogueRun run, string when)
    {
        if (run.Error is not { } error) return;
        // Not stopped by us (run.TimedOut is false): a timeout of the student's own, named with where the dialogue was.
        if (!run.TimedOut && CheckRunner.IsOwnTimeout(error))
        {
            var waitingFor = run.Wire.InData
                ? "The server was waiting for you: it was still reading the message, which ends with a line with a lone \".\" (\"\\r\\n.\\r\\n\")"
                : "Was the server waiting for you? Send a whole command line (ending in \"\\r\\n\") before you wait for its reply, and read each reply once";
            throw new CheckFailedException($"{CheckRunner.OwnTimeout(error, run.Elapsed, run.Limit, waitingFor)} ({run.Last()})");
        }
        throw new CheckFailedException($"your code threw {Describe(error)}{when} ({run.Last()})");
    }

    private static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message}";

    private static string Message(string subject, string body) =>
        $"From: {Alice}\r\nTo: bob@localhost\r\nSubject: {subject}\r\nMessage-Id: <{subject.Replace(' ', '-')}@netlabs.test>\r\n\r\n{body}";

    /// <summary>The stored message (waiting a moment: a dialogue may return before the server has stored it), or why there is none.</summary>
    private static async Task<ReceivedMessage> StoredAsync(LocalMailServer server, DialogueRun run, CancellationToken token)
    {
        ExpectCleanWire(run);
        if (server.Messages.Count == 0 && run.Sent("DATA"))
        {
            using var moment = CancellationTokenSource.CreateLinkedTokenSource(token);
            moment.CancelAfter(TimeSpan.FromSeconds(1));
            try { await server.WaitForAcceptedAsync(1, moment.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!token.IsCancellationRequested) { }
        }
        if (server.Messages.Count == 0)
        {
            ExpectNoStall(run);
            ExpectNoError(run, " before the message was stored");
            throw new CheckFailedException($"the server stored no message ({run.Last()})");
        }
        Expect(server.Messages.Count == 1, $"the server stored {server.Messages.Count} messages, expected 1");
        return server.Messages[0];
    }

    /// <summary>The body as stored, against the one sent; a difference in a line with a leading dot is dot-stuffing's.</summary>
    private static void ExpectSameBody(string sent, ReceivedMessage received, DialogueRun run)
    {
        var body = sent[(sent.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var text = received.RawText;
        var arrived = text[Math.Max(0, text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        if (text.EndsWith(body, StringComparison.Ordinal)) return;
        var dotted = body.Split("\r\n").FirstOrDefault(l => l.StartsWith('.'));
        var unstuffed = dotted is null ? null : run.Wire.Transcript.Entries.FirstOrDefault(e => e.Party == SmtpParty.Data && e.Text == dotted);
        Expect(unstuffed is null,
            $"you sent the message line \"{dotted}\" as it is, and the body arrived as \"{Escape(arrived)}\" (sent \"{Escape(body)}\"): " +
            "a line that starts with \".\" needs one more \".\" in front (dot-stuffing); the server takes one away, and a lone \".\" ends the message");
        throw new CheckFailedException($"the body arrived as \"{Escape(arrived)}\", sent \"{Escape(body)}\"");
    }

    private static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n");

    private static async Task<string> WithServerAsync(Func<LocalMailServer, CancellationToken, Task<string>> check, CancellationToken token)
    {
        await using var server = LocalMailServer.Start(new LocalMailServerOptions { EnableStartTls = false, IdleTimeout = TimeSpan.FromSeconds(10) });
        return await check(server, token).ConfigureAwait(false);
    }
}

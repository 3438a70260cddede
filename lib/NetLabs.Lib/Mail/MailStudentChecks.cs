using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Mail;

/// <summary>
/// The SMTP lab's checks of a student's <see cref="MailTransaction"/> ("the SMTP dialogue": MAIL FROM, RCPT TO, DATA,
/// the message, the final reply): a message that arrives, several recipients, reply codes checked, dot-stuffing,
/// and multi-line replies. The library connects (greeting, EHLO) and says QUIT; the student's function does the rest,
/// against <see cref="LocalMailServer"/> or, for multi-line replies, a scripted server.
/// <code>await MailStudentChecks.RunAsync(SendMail)</code>
/// </summary>
public static class MailStudentChecks
{
    public const string Lab = "03-smtp";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);
    private static readonly SmtpClientOptions ClientOptions = new() { Timeout = TimeSpan.FromSeconds(3) };

    public static Task<ReportCard> RunAsync(MailTransaction transaction, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(transaction), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(MailTransaction transaction) =>
    [
        new("a message arrives, with its envelope",
            "Send \"MAIL FROM:<sender>\" (expect 250), \"RCPT TO:<recipient>\" (250), \"DATA\" (354), the message ending with \"\\r\\n.\\r\\n\", and return the reply to the final \".\" (250).",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("first message", "Hello Bob,\r\nthis came through my own SMTP dialogue.\r\n");
                var reply = await SendAsync(transaction, server, new SmtpEnvelope("alice@netlabs.test", ["bob@localhost"]), message, t);
                Expect(reply is { Code: 250 }, $"your function returned {Describe(reply)}, expected the server's 250 to the end of the message");
                var received = Stored(server, 1);
                Expect(received.Envelope.From == "alice@netlabs.test" && received.Envelope.To.SequenceEqual(["bob@localhost"]),
                    $"the server got MAIL FROM <{received.Envelope.From}> and RCPT TO {string.Join(", ", received.Envelope.To)}, expected alice@netlabs.test to bob@localhost");
                ExpectSameMessage(message, received);
                return $"stored: {received}";
            }, token), CheckTimeout),
        new("one RCPT TO for every recipient",
            "Loop over envelope.To and send one \"RCPT TO:<…>\" for each, checking each reply.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("to two", "Hi both.\r\n");
                await SendAsync(transaction, server, new SmtpEnvelope("alice@netlabs.test", ["bob@localhost", "carol@netlabs.test"]), message, t);
                var received = Stored(server, 1);
                Expect(received.Envelope.To.SequenceEqual(["bob@localhost", "carol@netlabs.test"]), $"recipients {string.Join(", ", received.Envelope.To)}, expected bob@localhost, carol@netlabs.test");
                return "both recipients in the envelope";
            }, token), CheckTimeout),
        new("reply codes are checked: a refused recipient stops the dialogue",
            "Look at every reply's code: SendCommandAsync(command, [250]) throws SmtpCommandException on any other code. Do not go on to DATA after a 550.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("not for everyone", "This should not be sent.\r\n");
                try
                {
                    var reply = await SendAsync(transaction, server, new SmtpEnvelope("alice@netlabs.test", ["bob@localhost", "eve@elsewhere.example"]), message, t);
                    throw new CheckFailedException($"the server refused eve@elsewhere.example with 550, yet your dialogue went on and returned {Describe(reply)}");
                }
                catch (SmtpCommandException e)
                {
                    Expect(server.Messages.Count == 0, "the message was sent anyway");
                    return $"stopped at {e.Command}: {e.Reply.Code}";
                }
                catch (Exception e) when (e is not CheckFailedException and not OperationCanceledException and not NotImplementedException)
                {
                    Expect(server.Messages.Count == 0, "the message was sent anyway");
                    return $"stopped with {e.GetType().Name}: {e.Message}";
                }
            }, token), CheckTimeout),
        new("dot-stuffing: lines that start with \".\" arrive unchanged",
            "After DATA, a line starting with \".\" gets one more \".\" in front (\".\" alone would end the message); end with \"\\r\\n.\\r\\n\". SmtpData.Encode does both.",
            token => WithServerAsync(async (server, t) =>
            {
                var message = Message("dots", "line one\r\n.hidden line\r\n.\r\n..two dots\r\nlast line\r\n");
                await SendAsync(transaction, server, new SmtpEnvelope("alice@netlabs.test", ["bob@localhost"]), message, t);
                ExpectSameMessage(message, Stored(server, 1));
                return "\".hidden line\", \".\" and \"..two dots\" arrived as written";
            }, token), CheckTimeout),
        new("multi-line replies keep the dialogue in step",
            "Read each reply completely (client.ReadReplyAsync / SendCommandAsync read every \"250-…\" line up to \"250 …\"); never read a fixed number of lines.",
            async token =>
            {
                await using var server = new ScriptedSmtpServer();
                await using var client = new SmtpRawClient(ClientOptions);
                await client.ConnectAsync("127.0.0.1", server.Port, cancellationToken: token);
                var reply = await transaction(client, new SmtpEnvelope("alice@netlabs.test", ["bob@localhost"]), Message("multi", "Hi.\r\n"), token);
                Expect(reply is { Code: 250 } && reply.Lines[^1] == "queued as 42", $"your function returned {Describe(reply)}, expected the server's last reply \"250-Message accepted | 250 queued as 42\"");
                Expect(server.Commands.Take(3).Select(c => c.Split(':')[0]).SequenceEqual(["MAIL FROM", "RCPT TO", "DATA"]), $"the server saw {string.Join(", ", server.Commands)}");
                return "every multi-line reply read whole";
            }, CheckTimeout),
    ];

    private static string Describe(SmtpReply? reply) => reply is null ? "null" : reply.ToString();

    private static byte[] Message(string subject, string body) => Encoding.ASCII.GetBytes(
        $"From: alice@netlabs.test\r\nTo: bob@localhost\r\nSubject: {subject}\r\nMessage-Id: <{subject.Replace(' ', '-')}@netlabs.test>\r\n\r\n{body}");

    private static void ExpectSameMessage(byte[] sent, ReceivedMessage received)
    {
        var text = Encoding.ASCII.GetString(sent);
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Expect(received.RawText.EndsWith(body, StringComparison.Ordinal),
            $"the body arrived as \"{Escape(received.RawText[Math.Max(0, received.RawText.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..])}\", sent \"{Escape(body)}\"");
    }

    private static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n");

    private static ReceivedMessage Stored(LocalMailServer server, int count)
    {
        var messages = server.Messages;
        Expect(messages.Count == count, $"the server stored {messages.Count} message(s), expected {count}");
        return messages[^1];
    }

    private static async Task<string> WithServerAsync(Func<LocalMailServer, CancellationToken, Task<string>> check, CancellationToken token)
    {
        await using var server = LocalMailServer.Start(new LocalMailServerOptions { EnableStartTls = false, IdleTimeout = TimeSpan.FromSeconds(10) });
        return await check(server, token).ConfigureAwait(false);
    }

    /// <summary>Connects (greeting, EHLO: the library's part), runs the student's transaction, says QUIT.</summary>
    private static async Task<SmtpReply?> SendAsync(MailTransaction transaction, LocalMailServer server, SmtpEnvelope envelope, byte[] message, CancellationToken token)
    {
        await using var client = new SmtpRawClient(ClientOptions);
        await client.ConnectAsync(server.Host, server.Port, cancellationToken: token).ConfigureAwait(false);
        var reply = await transaction(client, envelope, message, token).ConfigureAwait(false);
        await client.QuitAsync(token).ConfigureAwait(false);
        return reply;
    }
}

using System.Text;
using MimeKit;
using NetLabs.Mail;

namespace NetLabs.Tests.Mail;

/// <summary>Our raw client against our local server, over real loopback sockets.</summary>
public class ClientServerTests
{
    [Fact]
    public async Task A_server_that_keeps_nothing_still_counts_and_answers_as_one_that_keeps_everything()
    {
        // Without stored messages, transcripts or a log (the benchmark's server) a message is only counted, and replies
        // go to the wire without a reply object: the client must see the same replies as from a server that keeps all.
        var ct = MailTestKit.Deadline();
        async Task<List<string>> RepliesAsync(bool keeps)
        {
            await using var server = MailTestKit.StartServer(o => keeps ? o : o with { MaxStoredMessages = 0, KeepTranscripts = false, LogCapacity = 0 });
            var transcript = await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain(), cancellationToken: ct);
            await server.WaitForAcceptedAsync(1, ct);
            Assert.Equal(1, server.Counters.MessagesAccepted);
            Assert.Equal(keeps ? 1 : 0, server.Messages.Count);
            return transcript.Entries.Select(e => e.ToString()).Where(l => l.StartsWith("S: ", StringComparison.Ordinal)).ToList();
        }
        var kept = await RepliesAsync(keeps: true);
        Assert.Equal(kept, await RepliesAsync(keeps: false));
        Assert.Contains("S: 250 2.0.0 OK queued as 1", kept);
        Assert.Contains(kept, l => l.StartsWith("S: 250-localhost Hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Plain_dialogue_delivers_the_message_with_its_envelope()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        var message = MailMessages.PlainText("alice@netlabs.test", "bob@localhost, carol@netlabs.test", "Lab 3", "Hello Bob.\r\n");
        var transcript = await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), message, cancellationToken: ct);

        await server.WaitForAcceptedAsync(1, ct);
        var received = Assert.Single(server.Messages);
        Assert.Equal("alice@netlabs.test", received.Envelope.From);
        Assert.Equal(["bob@localhost", "carol@netlabs.test"], received.Envelope.To);
        Assert.Equal("Lab 3", received.Message.Subject);
        Assert.False(received.WasSecure);
        var lines = transcript.Entries.Select(e => e.ToString()).ToList();
        Assert.StartsWith("S: 220 ", lines.First(l => l.StartsWith("S:")));
        Assert.Contains(lines, l => l.StartsWith("S: 250-") && l.Contains("SIZE"));
        Assert.Contains("C: DATA", lines);
        Assert.Contains("C: .", lines);
        Assert.StartsWith("S: 221", lines[^1]);
    }

    [Fact]
    public async Task StartTls_then_AUTH_PLAIN_with_a_pinned_certificate()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { RequireAuthentication = true });
        await using var client = new SmtpRawClient(server.TrustingClientOptions());
        await client.ConnectAsync(server.Host, server.Port, SmtpSecurity.None, ct);
        Assert.False(client.Supports("AUTH")); // never offered in clear text
        await client.StartTlsAsync(ct);
        Assert.True(client.IsSecure);
        Assert.True(client.Supports("AUTH"));
        Assert.False(client.Supports("STARTTLS"));
        await client.AuthenticateAsync(MailTestKit.User, MailTestKit.Password, "PLAIN", ct);
        await SmtpDialogue.SendAsync(client, MailTestKit.Plain(), cancellationToken: ct);
        await client.QuitAsync(ct);

        var received = Assert.Single(server.Messages);
        Assert.True(received.WasSecure);
        Assert.Equal(MailTestKit.User, received.AuthenticatedUser);
        Assert.DoesNotContain(MailTestKit.Password, client.Transcript.ToString());
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{MailTestKit.User}\0{MailTestKit.Password}")), client.Transcript.ToString());
        Assert.Contains("C: AUTH PLAIN ***", client.Transcript.ToString());
        Assert.DoesNotContain(MailTestKit.Password, string.Join("\n", server.RecentTranscripts.Select(t => t.ToString())));
    }

    [Fact]
    public async Task Implicit_TLS_with_AUTH_LOGIN()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        var address = new SmtpServerAddress(server.Host, server.ImplicitTlsPort!.Value, SmtpSecurity.ImplicitTls) { User = MailTestKit.User, Password = MailTestKit.Password };
        await using var client = new SmtpRawClient(server.TrustingClientOptions());
        await client.ConnectAsync(address.Host, address.Port, address.Security, ct);
        await client.AuthenticateAsync(MailTestKit.User, MailTestKit.Password, "LOGIN", ct);
        await SmtpDialogue.SendAsync(client, MailTestKit.Plain(), cancellationToken: ct);
        await client.QuitAsync(ct);
        Assert.True(Assert.Single(server.Messages).WasSecure);
        Assert.Contains("*** (password)", client.Transcript.ToString());
        Assert.DoesNotContain(MailTestKit.Password, address.ToString());
    }

    [Fact]
    public async Task Wrong_password_stops_with_535_and_the_transcript()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        var address = new SmtpServerAddress(server.Host, server.Port, SmtpSecurity.StartTls) { User = MailTestKit.User, Password = "wrong" };
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpDialogue.SendAsync(address, MailTestKit.Plain(), server.TrustingClientOptions(), cancellationToken: ct));
        Assert.Equal(535, error.Reply.Code);
        Assert.Equal("AUTH PLAIN ***", error.Command);
        Assert.Contains("S: 535", error.Transcript.ToString());
        Assert.Equal(0, server.Counters.MessagesAccepted);
    }

    [Fact]
    public async Task An_unpinned_self_signed_certificate_is_refused()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        await using var client = new SmtpRawClient();
        var error = await Assert.ThrowsAsync<SmtpProtocolException>(() => client.ConnectAsync(server.Host, server.Port, SmtpSecurity.StartTls, ct));
        Assert.Contains("TLS handshake failed", error.Message);
        await using var wrongPin = new SmtpRawClient(new SmtpClientOptions { TrustedCertificateSha256 = new string('A', 64) });
        await Assert.ThrowsAsync<SmtpProtocolException>(() => wrongPin.ConnectAsync(server.Host, server.ImplicitTlsPort!.Value, SmtpSecurity.ImplicitTls, ct));
    }

    [Fact]
    public async Task Dot_lines_and_a_lone_dot_in_the_body_arrive_intact()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        var body = "first\r\n.\r\n..two dots\r\n.leading dot\r\n. \r\nlast\r\n";
        var raw = Encoding.ASCII.GetBytes("From: a@netlabs.test\r\nTo: b@localhost\r\nSubject: dots\r\n\r\n" + body);
        await using var client = new SmtpRawClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken: ct);
        await SmtpDialogue.SendAsync(client, new SmtpEnvelope("a@netlabs.test", ["b@localhost"]), raw, ct);
        await client.QuitAsync(ct);
        Assert.Equal(raw, Assert.Single(server.Messages).Raw);
    }

    [Fact]
    public async Task Utf8_subject_and_body_arrive_intact_as_8BITMIME()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        const string subject = "Grüße — こんにちは ✉";
        const string body = "Ünïcödé body: ¡hola! 你好\r\n";
        await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain(subject, body), cancellationToken: ct);
        var received = Assert.Single(server.Messages).Message;
        Assert.Equal(subject, received.Subject);
        Assert.Equal(body.ReplaceLineEndings("\n"), received.TextBody!.ReplaceLineEndings("\n"));
        Assert.Contains("BODY=8BITMIME", server.RecentTranscripts[^1].ToString());
    }

    [Fact]
    public async Task Text_with_an_inline_image_arrives_with_the_same_image_bytes()
    {
        var ct = MailTestKit.Deadline();
        var eml = Directory.CreateTempSubdirectory("netlabs-eml-");
        try
        {
            await using var server = MailTestKit.StartServer(o => o with { EmlDirectory = eml.FullName });
            var message = MailMessages.TextWithImages("alice@netlabs.test", "bob@localhost", "Picture", "See the image:", [MailTestKit.ImagePath]);
            await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), message, cancellationToken: ct);

            var received = Assert.Single(server.Messages);
            var image = Assert.Single(received.Message.BodyParts.OfType<MimePart>(), p => p.ContentType.MimeType == "image/png");
            using var decoded = new MemoryStream();
            image.Content!.DecodeTo(decoded);
            Assert.Equal(await File.ReadAllBytesAsync(MailTestKit.ImagePath, ct), decoded.ToArray());
            Assert.Contains($"cid:{image.ContentId}", received.Message.HtmlBody);
            Assert.Contains("data:image/png;base64,", received.ToHtml());
            Assert.Equal(received.Stored(), await File.ReadAllBytesAsync(Assert.Single(eml.GetFiles("*.eml")).FullName, ct));
        }
        finally { eml.Delete(recursive: true); }
    }

    [Fact]
    public async Task Unknown_recipient_relaying_and_oversized_messages_are_refused_with_their_codes()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { Mailboxes = ["bob@localhost"], MaxMessageSize = 4096 });
        var address = new SmtpServerAddress(server.Host, server.Port);

        var unknown = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpDialogue.SendAsync(address, MailTestKit.Plain(to: "nobody@localhost"), cancellationToken: ct));
        Assert.Equal((550, "RCPT TO:<nobody@localhost>"), (unknown.Reply.Code, unknown.Command));
        Assert.Contains("5.1.1", unknown.Reply.Text);

        var relay = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpDialogue.SendAsync(address, MailTestKit.Plain(to: "victim@example.com"), cancellationToken: ct));
        Assert.Contains("5.7.1", relay.Reply.Text);

        var big = MailTestKit.Plain(body: string.Concat(Enumerable.Repeat("0123456789 abcdefghij\r\n", 400)));
        var declared = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpDialogue.SendAsync(address, big, cancellationToken: ct));
        Assert.Equal(552, declared.Reply.Code); // refused at MAIL FROM thanks to SIZE=

        // Without SIZE= the server still counts while reading DATA and refuses at the end.
        await using var client = new SmtpRawClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken: ct);
        await client.SendCommandAsync("MAIL FROM:<a@netlabs.test>", [250], ct);
        await client.RcptToAsync("bob@localhost", ct);
        var late = await Assert.ThrowsAsync<SmtpCommandException>(() => client.DataAsync(MailMessages.ToBytes(big), ct));
        Assert.Equal(552, late.Reply.Code);
        await client.NoopAsync(ct); // the session goes on
        Assert.Equal(0, server.Counters.MessagesAccepted);
    }

    [Fact]
    public async Task Authentication_required_gives_530_before_AUTH()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { RequireAuthentication = true });
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain(), cancellationToken: ct));
        Assert.Equal(530, error.Reply.Code);
    }

    [Fact]
    public async Task A_dialogue_of_ones_own_runs_on_the_socket_and_its_wire_is_recorded()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        var calls = 0;
        // What a student writes, reduced: one command per line, our reference for the rest of the session.
        SmtpClientDialogue student = (connection, envelope, message, token) =>
        {
            calls++;
            return SmtpDialogue.RunAsync(connection, envelope, message.Replace("Hi", ".Hi", StringComparison.Ordinal), token);
        };
        var transcript = await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain("student"), new SmtpClientOptions { Dialogue = student }, ct);
        Assert.Equal(1, calls);
        Assert.Equal("student", Assert.Single(server.Messages).Message.Subject);
        // The transcript is what travelled on the socket: the stuffed line as sent, every line ending in CRLF.
        var data = transcript.Entries.Where(e => e.Party == SmtpParty.Data).ToList();
        Assert.Contains(data, e => e.Text.StartsWith("..Hi", StringComparison.Ordinal) && e.Remark!.StartsWith("dot-stuffed", StringComparison.Ordinal));
        Assert.Equal(".", data[^1].Text);
        Assert.All(transcript.Entries.Where(e => e.Party != SmtpParty.Note), e => Assert.Equal("\r\n", e.LineEnd));
        Assert.Contains("C: QUIT", transcript.ToString());
        Assert.Contains("\\r\\n", transcript.ToHtml());
    }

    [Fact]
    public async Task A_dialogue_of_ones_own_that_never_ends_is_stopped_by_closing_its_socket()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        // Waits for a reply that never comes, without looking at the token: only closing the socket ends the read.
        SmtpClientDialogue stuck = async (connection, envelope, message, token) =>
        {
            var buffer = new byte[1024];
            while (await connection.ReadAsync(buffer) > 0) { }
            throw new IOException("closed under me");
        };
        var options = new SmtpClientOptions { Dialogue = stuck, Timeout = TimeSpan.FromSeconds(1) };
        await Assert.ThrowsAnyAsync<Exception>(() => SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain(), options, ct).WaitAsync(TimeSpan.FromSeconds(20), ct));
    }
}

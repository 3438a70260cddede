using System.Text;
using NetLabs.Mail;

namespace NetLabs.Tests.Mail;

/// <summary>Bad input for the local server: it answers clearly, keeps serving, and loses no accepted message.</summary>
public class ServerRobustnessTests
{
    [Fact]
    public async Task Commands_out_of_order_get_503_and_bad_syntax_501_500_502()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        Assert.Equal(503, await c.CommandAsync("MAIL FROM:<a@netlabs.test>", ct)); // before EHLO
        Assert.Equal(501, await c.CommandAsync("EHLO", ct));
        Assert.Equal(250, await c.CommandAsync("EHLO test", ct));
        Assert.Equal(503, await c.CommandAsync("RCPT TO:<bob@localhost>", ct)); // before MAIL
        Assert.Equal(503, await c.CommandAsync("DATA", ct));
        Assert.Equal(501, await c.CommandAsync("MAIL FROM:a@netlabs.test", ct)); // no angle brackets
        Assert.Equal(250, await c.CommandAsync("MAIL FROM:<a@netlabs.test>", ct));
        Assert.Equal(503, await c.CommandAsync("MAIL FROM:<a@netlabs.test>", ct)); // nested
        Assert.Equal(503, await c.CommandAsync("DATA", ct)); // no recipient yet
        Assert.Equal(501, await c.CommandAsync("RCPT TO:<not an address>", ct));
        Assert.Equal(500, await c.CommandAsync("FOO bar", ct));
        Assert.Equal(502, await c.CommandAsync("EXPN staff", ct));
        Assert.Equal(503, await c.CommandAsync("AUTH PLAIN", ct)); // not inside a transaction
        Assert.Equal(250, await c.CommandAsync("RSET", ct));
        Assert.Equal(538, await c.CommandAsync("AUTH PLAIN", ct)); // and not before TLS
        Assert.Equal(221, await c.CommandAsync("QUIT", ct));
        Assert.True(await c.ClosedByServerAsync(ct));
    }

    [Fact]
    public async Task Garbage_a_10_MB_line_and_pipelined_commands_are_handled_and_the_server_goes_on()
    {
        var ct = MailTestKit.Deadline(30);
        await using var server = MailTestKit.StartServer(o => o with { MaxErrors = 5 });
        await using (var c = await RawConnection.OpenAsync(server.Port, ct))
        {
            Assert.Equal(220, await c.CodeAsync(ct));
            var random = new Random(5);
            var garbage = new byte[4096];
            random.NextBytes(garbage);
            for (var i = 0; i < garbage.Length; i++) if (garbage[i] == '\n') garbage[i] = 0; // one long garbage line
            await c.WriteAsync([.. garbage, (byte)'\r', (byte)'\n'], ct);
            Assert.Equal(500, await c.CodeAsync(ct)); // line too long
            var huge = new byte[10 * 1024 * 1024];
            huge.AsSpan().Fill((byte)'A');
            await c.WriteAsync(huge, ct);
            await c.WriteAsync("\r\n", ct);
            Assert.Equal(500, await c.CodeAsync(ct));
            // Pipelined: a whole transaction in one write, replies in order.
            await c.WriteAsync("EHLO pipe\r\nMAIL FROM:<a@netlabs.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n", ct);
            Assert.Equal(250, await c.CodeAsync(ct));
            Assert.Equal(250, await c.CodeAsync(ct));
            Assert.Equal(250, await c.CodeAsync(ct));
            Assert.Equal(354, await c.CodeAsync(ct));
            await c.WriteAsync("Subject: pipelined\r\n\r\nbody\r\n.\r\n", ct);
            Assert.Equal(250, await c.CodeAsync(ct));
            // Too many errors: the server says 421 and hangs up.
            for (var i = 0; i < 2; i++) Assert.Equal(500, await c.CommandAsync("NONSENSE", ct));
            await c.WriteAsync("NONSENSE\r\n", ct);
            var last = await c.ReadReplyAsync(ct);
            Assert.StartsWith("500", last[0]);
            Assert.StartsWith("421", (await c.ReadReplyAsync(ct))[0]);
            Assert.True(await c.ClosedByServerAsync(ct));
        }
        Assert.Equal("pipelined", Assert.Single(server.Messages).Message.Subject);
        await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain(), cancellationToken: ct);
        Assert.Equal(2, server.Counters.MessagesAccepted);
    }

    [Fact]
    public async Task Abrupt_disconnects_mid_DATA_and_mid_handshake_lose_nothing_accepted()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain("kept"), cancellationToken: ct);
        await using (var c = await RawConnection.OpenAsync(server.Port, ct))
        {
            await c.CodeAsync(ct);
            await c.WriteAsync("EHLO x\r\nMAIL FROM:<a@netlabs.test>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\nSubject: half\r\n\r\nhalf a messa", ct);
            for (var i = 0; i < 4; i++) await c.ReadReplyAsync(ct);
            c.Abort();
        }
        await using (var c = await RawConnection.OpenAsync(server.ImplicitTlsPort!.Value, ct))
        {
            await c.WriteAsync("\x16\x03\x01 not really TLS", ct);
            c.Abort();
        }
        await using (var c = await RawConnection.OpenAsync(server.Port, ct)) c.Abort();
        await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain("also kept"), cancellationToken: ct);
        Assert.Equal(["kept", "also kept"], server.Messages.Select(m => m.Message.Subject));
    }

    [Fact]
    public async Task Plain_text_commands_injected_before_the_TLS_handshake_are_not_run()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        await c.CodeAsync(ct);
        await c.CommandAsync("EHLO x", ct);
        // STARTTLS and, in the same packet, a command an attacker slipped in before the handshake.
        await c.WriteAsync("STARTTLS\r\nMAIL FROM:<evil@netlabs.test>\r\n", ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        c.Abort();
        await server.StopAsync(TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(server.RecentTranscripts, t => t.ToString().Contains("evil@"));
    }

    [Fact]
    public async Task Idle_clients_are_disconnected_with_421()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { IdleTimeout = TimeSpan.FromMilliseconds(300) });
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        Assert.Equal(421, await c.CodeAsync(ct));
        Assert.True(await c.ClosedByServerAsync(ct));
    }

    [Fact]
    public async Task A_hundred_sessions_at_once_all_get_their_messages_through()
    {
        var ct = MailTestKit.Deadline(40);
        // All hundred come from 127.0.0.1: this test is about concurrency, not the per-address limit (tested apart).
        await using var server = MailTestKit.StartServer(o => o with { MaxSessionsPerAddress = 100 });
        var sends = Enumerable.Range(0, 100).Select(i => Task.Run(() => SmtpDialogue.SendAsync(
            new SmtpServerAddress(server.Host, i % 2 == 0 ? server.Port : server.ImplicitTlsPort!.Value, i % 2 == 0 ? SmtpSecurity.None : SmtpSecurity.ImplicitTls),
            MailTestKit.Plain($"message {i}", $"body {i}\r\n"), server.TrustingClientOptions(), cancellationToken: ct), ct));
        await Task.WhenAll(sends).WaitAsync(ct);
        Assert.Equal(100, server.Counters.MessagesAccepted);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"message {i}").Order(), server.Messages.Select(m => m.Message.Subject).Order());
    }

    [Fact]
    public async Task Stop_ends_open_sessions_with_421_within_the_drain_time()
    {
        var ct = MailTestKit.Deadline();
        var server = MailTestKit.StartServer();
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(8), ct);
        Assert.Equal(421, await c.CodeAsync(ct));
        var again = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => again.ConnectAsync("127.0.0.1", server.Port, ct).AsTask());
        again.Dispose();
    }

    [Fact]
    public async Task Too_many_recipients_get_452_and_the_accepted_ones_still_receive()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { MaxRecipients = 2 });
        await using var client = new SmtpRawClient();
        await client.ConnectAsync(server.Host, server.Port, cancellationToken: ct);
        await client.MailFromAsync("a@netlabs.test", cancellationToken: ct);
        await client.RcptToAsync("one@localhost", ct);
        await client.RcptToAsync("two@localhost", ct);
        var third = await Assert.ThrowsAsync<SmtpCommandException>(() => client.RcptToAsync("three@localhost", ct));
        Assert.Equal(452, third.Reply.Code);
        await client.DataAsync("Subject: two of three\r\n\r\nhi\r\n"u8.ToArray(), ct);
        await client.QuitAsync(ct);
        Assert.Equal(["one@localhost", "two@localhost"], Assert.Single(server.Messages).Envelope.To);
    }
}

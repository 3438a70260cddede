using System.Net;
using System.Text;
using MimeKit;
using NetLabs.Hosting;
using NetLabs.Mail;

namespace NetLabs.Tests.Mail;

/// <summary>
/// What testing the server from outside found (issue 11): protocol abuse and one client taking what is everybody's.
/// Each test failed before its fix. Client addresses: the loopback net is 127.0.0.0/8, so 127.0.0.2 is "another machine".
/// </summary>
public class OutsideTestingTests
{
    private static readonly IPAddress OtherClient = IPAddress.Parse("127.0.0.2");

    private static string AuthPlain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    /// <summary>EHLO, then AUTH PLAIN with the given password, on a new connection from <paramref name="from"/>; returns the AUTH reply code.</summary>
    private static async Task<int> LoginAsync(LocalMailServer server, IPAddress from, string password, CancellationToken ct)
    {
        await using var c = await RawConnection.OpenAsync(from, server.Port, ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        Assert.Equal(250, await c.CommandAsync("EHLO guesser", ct));
        return await c.CommandAsync("AUTH PLAIN " + AuthPlain(MailTestKit.User, password), ct);
    }

    /// <summary>Greets with <paramref name="hello"/> and sends one small message to bob@localhost, command by command.</summary>
    private static async Task SendOneAsync(RawConnection c, string hello, string subject, CancellationToken ct)
    {
        Assert.Equal(250, await c.CommandAsync(hello, ct));
        Assert.Equal(250, await c.CommandAsync("MAIL FROM:<a@netlabs.test>", ct));
        Assert.Equal(250, await c.CommandAsync("RCPT TO:<bob@localhost>", ct));
        Assert.Equal(354, await c.CommandAsync("DATA", ct));
        Assert.Equal(250, await c.CommandAsync($"Subject: {subject}\r\n\r\nhi\r\n.", ct));
    }

    [Fact]
    public async Task Control_characters_in_the_EHLO_or_HELO_name_are_refused_with_501_not_echoed()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer();
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        Assert.Equal(220, await c.CodeAsync(ct));
        foreach (var hello in new[] { "EHLO a\0b", "HELO a\0b", "EHLO a\u0001b", "EHLO a\u007fb", "HELO a\tb", "EHLO a\nb" })
        {
            await c.WriteAsync(hello + "\r\n", ct);
            var reply = await c.ReadReplyAsync(ct);
            Assert.StartsWith("501", reply[^1]);
            Assert.DoesNotContain(reply, line => line.Any(char.IsControl));
        }
        Assert.Equal(503, await c.CommandAsync("MAIL FROM:<a@netlabs.test>", ct)); // none of them greeted
        Assert.Equal(250, await c.CommandAsync("EHLO [127.0.0.1]", ct));
    }

    [Fact]
    public async Task Stored_messages_start_with_a_Received_trace_header()
    {
        var ct = MailTestKit.Deadline();
        var eml = Directory.CreateTempSubdirectory("netlabs-trace-");
        try
        {
            await using var server = MailTestKit.StartServer(o => o with { EmlDirectory = eml.FullName });
            var secure = new SmtpServerAddress(server.Host, server.Port, SmtpSecurity.StartTls) { User = MailTestKit.User, Password = MailTestKit.Password };
            await SmtpDialogue.SendAsync(secure, MailTestKit.Plain("over TLS"), server.TrustingClientOptions(), ct);
            await SmtpDialogue.SendAsync(new SmtpServerAddress(server.Host, server.Port), MailTestKit.Plain("plain", to: "bob@localhost, carol@netlabs.test"), cancellationToken: ct);
            await using (var c = await RawConnection.OpenAsync(server.Port, ct))
            {
                Assert.Equal(220, await c.CodeAsync(ct));
                await SendOneAsync(c, "HELO old.client", "helo", ct);
            }

            var messages = server.Messages;
            Assert.Equal(3, messages.Count);
            var traces = messages.Select(m => m.Message.Headers[0]).ToArray();
            Assert.All(traces, h => Assert.Equal(HeaderId.Received, h.Id));
            Assert.All(messages, m => Assert.Equal(m.Message.Headers[0].Value, m.Message.Headers[HeaderId.Received]));
            var tls = Unfold(traces[0].Value);
            Assert.Matches(@"^from netlabs\.localhost \(\[127\.0\.0\.1\]\) by localhost \(NetLabs\) with ESMTPSA id 1 for <bob@localhost>; ", tls);
            var date = tls[(tls.LastIndexOf(';') + 1)..].Trim();
            Assert.True(MimeKit.Utils.DateUtils.TryParse(date, out var when), date);
            Assert.True(Math.Abs((when - messages[0].ReceivedAt).TotalSeconds) < 2, date);
            // Two recipients: no "for" clause (it would show every recipient, Bcc included, to each of them).
            Assert.Matches(@"^from netlabs\.localhost \(\[127\.0\.0\.1\]\) by localhost \(NetLabs\) with ESMTP id 2; ", Unfold(traces[1].Value));
            Assert.Matches(@"^from old\.client \(\[127\.0\.0\.1\]\) by localhost \(NetLabs\) with SMTP id 3 for <bob@localhost>; ", Unfold(traces[2].Value));

            // The bytes the client sent stay as they were; the stored copy (the .eml) starts with the trace header.
            Assert.StartsWith("Subject: helo\r\n", messages[2].RawText);
            var first = await File.ReadAllTextAsync(eml.GetFiles("*.eml").OrderBy(f => f.Name).First().FullName, ct);
            Assert.StartsWith("Received: from netlabs.localhost ([127.0.0.1])\r\n\tby localhost (NetLabs) with ESMTPSA id 1\r\n", first);
        }
        finally { eml.Delete(recursive: true); }
    }

    private static string Unfold(string header) => System.Text.RegularExpressions.Regex.Replace(header, @"\s+", " ").Trim();

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_address_out_even_for_the_right_password()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { AllowAuthenticationWithoutTls = true });
        var failures = 0;
        // Keep guessing, one session after another, as the outside tester did (570 guesses in 0.19 s).
        for (var guess = 0; guess < 30; guess++)
        {
            var code = await LoginAsync(server, IPAddress.Loopback, $"guess-{guess}", ct);
            if (code == 535) { failures++; continue; }
            Assert.Equal(454, code);
            break;
        }
        Assert.Equal(new LocalMailServerOptions().MaxAuthenticationFailures, failures);
        Assert.Equal(454, await LoginAsync(server, IPAddress.Loopback, MailTestKit.Password, ct));
        // Another machine is not punished for this one.
        Assert.Equal(235, await LoginAsync(server, OtherClient, MailTestKit.Password, ct));
        var counters = server.Counters;
        Assert.Equal(failures, counters.AuthenticationFailures);
        Assert.Equal(2, counters.AuthenticationsLockedOut);
        Assert.Contains(server.Log, e => e.Event == MailServerEvent.AuthenticationLockedOut && e.Client!.Address.Equals(IPAddress.Loopback));
    }

    [Fact]
    public async Task A_user_name_with_control_characters_is_logged_on_one_line()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { AllowAuthenticationWithoutTls = true });
        var lines = new List<string>();
        server.Logged += entry => { lock (lines) lines.Add(entry.ToString()); };
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        await c.CodeAsync(ct);
        await c.CommandAsync("EHLO x", ct);
        Assert.Equal(535, await c.CommandAsync("AUTH PLAIN " + AuthPlain("eve\r\n12:00:00 accepted #1 from forged", "x"), ct));
        var line = Assert.Single(lines);
        Assert.DoesNotContain(line, char.IsControl);
        Assert.Contains("failed login for user eve??12:00:00", line);
    }

    [Fact]
    public async Task A_lock_out_ends_when_the_window_has_passed()
    {
        var ct = MailTestKit.Deadline();
        var window = TimeSpan.FromMilliseconds(800);
        await using var server = MailTestKit.StartServer(o => o with
        {
            AllowAuthenticationWithoutTls = true, MaxAuthenticationFailures = 2, AuthenticationFailureWindow = window,
        });
        Assert.Equal(535, await LoginAsync(server, IPAddress.Loopback, "wrong", ct));
        Assert.Equal(535, await LoginAsync(server, IPAddress.Loopback, "wrong", ct));
        Assert.Equal(454, await LoginAsync(server, IPAddress.Loopback, MailTestKit.Password, ct));
        // The window counts from the first failure, which was before this wait began. Task.Delay's clock is coarser
        // than the throttle's (it may end a few milliseconds early by the Stopwatch), so wait a little longer.
        await Task.Delay(window + TimeSpan.FromMilliseconds(100), ct);
        Assert.Equal(235, await LoginAsync(server, IPAddress.Loopback, MailTestKit.Password, ct));
    }

    /// <summary>A clock the test moves by hand: one tick is a millisecond.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Now;
        public override long TimestampFrequency => 1000;
        public override long GetTimestamp() => Now;
    }

    [Fact]
    public void The_throttle_counts_failures_per_address_within_the_window()
    {
        var clock = new ManualClock();
        var throttle = new AuthenticationThrottle(maxFailures: 3, TimeSpan.FromSeconds(10), maxAddresses: 100, clock);
        var guesser = IPAddress.Parse("192.0.2.7");
        for (var i = 0; i < 3; i++) { Assert.False(throttle.IsLockedOut(guesser)); throttle.Failed(guesser); clock.Now += 1000; }
        Assert.True(throttle.IsLockedOut(guesser));
        Assert.False(throttle.IsLockedOut(IPAddress.Parse("192.0.2.8")));
        clock.Now = 9_999;
        Assert.True(throttle.IsLockedOut(guesser));
        clock.Now = 10_000; // ten seconds after the first failure
        Assert.False(throttle.IsLockedOut(guesser));
        Assert.Equal(0, throttle.TrackedAddresses); // forgotten, not kept forever
    }

    [Fact]
    public void The_throttle_table_stays_bounded_whatever_the_number_of_addresses()
    {
        var clock = new ManualClock();
        var throttle = new AuthenticationThrottle(maxFailures: 2, TimeSpan.FromMinutes(5), maxAddresses: 100, clock);
        for (var i = 0; i < 10_000; i++)
        {
            var address = new IPAddress([10, 0, (byte)(i >> 8), (byte)i]);
            throttle.Failed(address);
            throttle.Failed(address);
            clock.Now++;
        }
        Assert.Equal(100, throttle.TrackedAddresses);
        Assert.True(throttle.IsLockedOut(new IPAddress([10, 0, 39, 15]))); // the latest one (10 000 - 1) is kept
        Assert.False(throttle.IsLockedOut(new IPAddress([10, 0, 0, 0]))); // the oldest made room
    }

    [Fact]
    public async Task One_client_address_cannot_take_every_session_and_the_rest_of_the_room_is_still_served()
    {
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer();
        var limit = new LocalMailServerOptions().MaxSessionsPerAddress;
        var hogs = new List<RawConnection>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                var hog = await RawConnection.OpenAsync(server.Port, ct);
                hogs.Add(hog);
                Assert.Equal(220, await hog.CodeAsync(ct));
            }
            await using (var oneTooMany = await RawConnection.OpenAsync(server.Port, ct))
            {
                var refused = await oneTooMany.ReadReplyAsync(ct);
                Assert.StartsWith("421 4.7.0", refused[^1]);
                Assert.Contains("too many sessions from 127.0.0.1", refused[^1]);
                Assert.True(await oneTooMany.ClosedByServerAsync(ct));
            }
            // Someone else in the room sends a message while the hog holds its sessions.
            await using (var other = await RawConnection.OpenAsync(OtherClient, server.Port, ct))
            {
                Assert.Equal(220, await other.CodeAsync(ct));
                await SendOneAsync(other, "EHLO other", "still served", ct);
            }
            Assert.Equal("still served", Assert.Single(server.Messages).Message.Subject);
            Assert.Equal(1, server.Counters.SessionsRefused);
            var entry = Assert.Single(server.Log, e => e.Event == MailServerEvent.SessionRefused);
            Assert.Equal(IPAddress.Loopback, entry.Client!.Address);

            // When the hog lets one go, it may open one again.
            await hogs[0].DisposeAsync();
            hogs.RemoveAt(0);
            await WaitUntilAsync(() => server.Counters.ActiveSessions <= limit - 1, ct);
            await using var again = await RawConnection.OpenAsync(server.Port, ct);
            Assert.Equal(220, await again.CodeAsync(ct));
        }
        finally
        {
            foreach (var hog in hogs) await hog.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition()) await Task.Delay(20, ct);
    }

    [Fact]
    public async Task Our_client_does_not_send_a_password_in_clear_unless_allowed()
    {
        var ct = MailTestKit.Deadline();
        // Even a server that offers AUTH without TLS does not get the password unless the user opts in.
        await using var server = MailTestKit.StartServer(o => o with { AllowAuthenticationWithoutTls = true });
        var address = new SmtpServerAddress(server.Host, server.Port) { User = MailTestKit.User, Password = MailTestKit.Password };
        var refused = await Assert.ThrowsAsync<SmtpSecurityException>(() => SmtpDialogue.SendAsync(address, MailTestKit.Plain(), cancellationToken: ct));
        Assert.Contains("in clear", refused.Message);
        Assert.DoesNotContain(refused.Transcript.Entries, e => e.Party == SmtpParty.Client && e.Text.StartsWith("AUTH", StringComparison.Ordinal));
        await server.StopAsync(TimeSpan.FromSeconds(5), ct);
        Assert.DoesNotContain(server.RecentTranscripts, t => t.ToString().Contains("C: AUTH"));
        Assert.Equal(0, server.Counters.MessagesAccepted);

        await using var teaching = MailTestKit.StartServer(o => o with { AllowAuthenticationWithoutTls = true });
        var opted = new SmtpClientOptions { AllowPlaintextAuthentication = true };
        await SmtpDialogue.SendAsync(address with { Port = teaching.Port }, MailTestKit.Plain("opted in"), opted, ct);
        Assert.Equal(MailTestKit.User, Assert.Single(teaching.Messages).AuthenticatedUser);
    }

    [Fact]
    public async Task The_server_offers_AUTH_without_TLS_only_when_told_to()
    {
        var ct = MailTestKit.Deadline();
        Assert.False(new LocalMailServerOptions().AllowAuthenticationWithoutTls);
        await using var server = MailTestKit.StartServer();
        await using var c = await RawConnection.OpenAsync(server.Port, ct);
        await c.CodeAsync(ct);
        await c.WriteAsync("EHLO x\r\n", ct);
        Assert.DoesNotContain(await c.ReadReplyAsync(ct), line => line.Contains("AUTH"));
        Assert.Equal(538, await c.CommandAsync("AUTH PLAIN " + AuthPlain(MailTestKit.User, MailTestKit.Password), ct));
    }

    [Fact]
    public async Task Every_accepted_message_is_logged_once_even_when_sessions_overlap()
    {
        var ct = MailTestKit.Deadline(40);
        await using var server = MailTestKit.StartServer(o => o with { EnableStartTls = false, ImplicitTlsPort = null, KeepTranscripts = false });
        var seen = new System.Collections.Concurrent.ConcurrentBag<long>();
        server.Logged += entry => { if (entry.Event == MailServerEvent.MessageAccepted) seen.Add(entry.MessageId); };
        var address = new SmtpServerAddress(server.Host, server.Port);
        // 8 sessions, 25 messages each, all at once: ids are handed out and stored out of order.
        var senders = Enumerable.Range(0, 8).Select(s => Task.Run(async () =>
        {
            for (var m = 0; m < 25; m++) await SmtpDialogue.SendAsync(address, MailTestKit.Plain($"{s}-{m}"), cancellationToken: ct);
        }, ct));
        await Task.WhenAll(senders).WaitAsync(ct);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), seen.Order());
        Assert.Equal(200, server.Counters.MessagesAccepted);
        Assert.Equal(200, server.Log.Count(e => e.Event == MailServerEvent.MessageAccepted));
    }

    [Fact]
    public async Task Messages_transcripts_and_the_log_keep_only_the_latest()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { MaxStoredMessages = 3, MaxKeptTranscripts = 2, LogCapacity = 4 });
        var address = new SmtpServerAddress(server.Host, server.Port);
        for (var i = 1; i <= 6; i++) await SmtpDialogue.SendAsync(address, MailTestKit.Plain($"m{i}"), cancellationToken: ct);
        Assert.Equal(["m4", "m5", "m6"], server.Messages.Select(m => m.Message.Subject));
        Assert.Equal([3L, 4, 5, 6], server.Log.Select(e => e.MessageId));
        Assert.Equal(6, server.Counters.MessagesAccepted);
        await WaitUntilAsync(() => server.Counters.ActiveSessions == 0, ct);
        Assert.Equal(2, server.RecentTranscripts.Count);
    }

    [Fact]
    public async Task A_session_that_never_ends_keeps_a_bounded_transcript()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { MaxTranscriptLines = 50 });
        await using (var c = await RawConnection.OpenAsync(server.Port, ct))
        {
            await c.CodeAsync(ct);
            await c.WriteAsync(string.Concat(Enumerable.Repeat("NOOP\r\n", 500)), ct);
            for (var i = 0; i < 500; i++) Assert.Equal(250, await c.CodeAsync(ct));
            Assert.Equal(221, await c.CommandAsync("QUIT", ct));
        }
        await server.StopAsync(TimeSpan.FromSeconds(5), ct);
        var transcript = Assert.Single(server.RecentTranscripts);
        Assert.Equal(50, transcript.Entries.Count);
        Assert.Contains("transcript full", transcript.Entries[^1].Text);
        Assert.True(transcript.DroppedLines > 900, transcript.DroppedLines.ToString());
    }

    [Fact]
    public async Task Stop_is_idempotent_and_a_taken_port_is_a_ServerStartException()
    {
        var ct = MailTestKit.Deadline();
        var server = MailTestKit.StartServer();
        Assert.Equal(ServerState.Running, server.State);
        var taken = Assert.Throws<ServerStartException>(() => LocalMailServer.Start(new LocalMailServerOptions { Port = server.Port }));
        Assert.Contains("already in use", taken.Message);
        Assert.Throws<ServerStartException>(() => LocalMailServer.Start(new LocalMailServerOptions { MaxSessionsPerAddress = 0 }));

        var first = server.StopAsync(TimeSpan.FromSeconds(5), ct);
        var second = server.StopAsync(TimeSpan.FromSeconds(5), ct);
        await Task.WhenAll(first, second).WaitAsync(ct);
        Assert.Contains("Stopped", server.ToHtml()); // a notebook shows the server after stopping it
        await server.DisposeAsync();
        Assert.Equal(ServerState.Stopped, server.State);
        Assert.Contains(server.CertificateSha256!, server.ToString());
        Assert.True(server.Completion.IsCompletedSuccessfully);
        // Stopped servers free their port: a new one can take it.
        await using var again = LocalMailServer.Start(new LocalMailServerOptions { Port = server.Port, EnableStartTls = false });
        Assert.Equal(server.Port, again.Port);
    }

    [Fact]
    public async Task The_scripted_server_of_the_student_checks_refuses_a_bare_LF_as_our_server_does()
    {
        var ct = MailTestKit.Deadline();
        await using var scripted = new ScriptedSmtpServer();
        await using var c = await RawConnection.OpenAsync(scripted.Port, ct);
        await c.ReadReplyAsync(ct);
        // One line with a bare LF inside: not two commands (that is how SMTP smuggling starts).
        await c.WriteAsync("EHLO x\nMAIL FROM:<a@netlabs.test>\r\n", ct);
        Assert.StartsWith("500", (await c.ReadReplyAsync(ct))[^1]);
        Assert.Equal(250, await c.CommandAsync("EHLO x", ct));
        Assert.Equal(["EHLO x"], scripted.Commands);   // the line with the bare LF is not taken for a command

        await using var server = MailTestKit.StartServer();
        await using var ours = await RawConnection.OpenAsync(server.Port, ct);
        await ours.ReadReplyAsync(ct);
        await ours.WriteAsync("EHLO x\nMAIL FROM:<a@netlabs.test>\r\n", ct);
        Assert.StartsWith("501", (await ours.ReadReplyAsync(ct))[^1]);
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using NetLabs.Mail;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Mail;

/// <summary>Real peers: postfix smtp-sink and aiosmtpd for our client; swaks, MailKit and openssl for our server.</summary>
public class InteropTests
{
    [SkippableFact]
    public async Task Our_client_delivers_to_postfix_smtp_sink_intact()
    {
        var body = "line one\r\n.\r\n.dotted\r\nGrüße\r\n";
        var (transcript, dumped) = await SendToSmtpSinkAsync([], MailTestKit.Plain("smtp-sink test", body));
        Assert.Contains("X-Rcpt-Args: <bob@localhost>", dumped);
        Assert.Contains("BODY=8BITMIME", transcript.ToString());
        var message = MimeKit.MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(dumped[dumped.IndexOf("From:", StringComparison.Ordinal)..])));
        Assert.Equal("smtp-sink test", message.Subject);
        Assert.Equal(body.ReplaceLineEndings("\n"), message.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n') + "\n"); // the dump adds an empty line
    }

    [SkippableFact]
    public async Task Our_client_falls_back_to_HELO_and_7bit_when_smtp_sink_refuses_EHLO()
    {
        var body = "Grüße — 7-bit only\r\n";
        var (transcript, dumped) = await SendToSmtpSinkAsync(["-f", "ehlo"], MailTestKit.Plain("old server", body));
        var lines = transcript.Entries.Select(e => e.ToString()).ToList();
        Assert.StartsWith("S: 5", lines[lines.FindIndex(l => l.StartsWith("C: EHLO")) + 1]); // EHLO refused
        Assert.Contains("C: HELO netlabs.localhost", lines);
        Assert.DoesNotContain("BODY=8BITMIME", transcript.ToString());
        Assert.All(Encoding.UTF8.GetBytes(dumped), b => Assert.True(b < 128)); // quoted-printable, no 8-bit bytes on the wire
        var message = MimeKit.MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(dumped[dumped.IndexOf("From:", StringComparison.Ordinal)..])));
        Assert.Equal(body.ReplaceLineEndings("\n"), message.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n') + "\n");
    }

    /// <summary>Runs postfix smtp-sink on a free port with a dump folder, sends one message with our client, returns the dump.</summary>
    private static async Task<(SmtpTranscript Transcript, string Dumped)> SendToSmtpSinkAsync(string[] sinkOptions, MimeKit.MimeMessage message)
    {
        var sink = ExternalProcess.Require("smtp-sink", "postfix");
        var ct = MailTestKit.Deadline(20);
        var dump = Directory.CreateTempSubdirectory("netlabs-sink-");
        try
        {
            var port = PeerPorts.Free();
            // -d: one dump file per message. As root, smtp-sink must be told which user to become (-u).
            List<string> arguments = [.. sinkOptions, "-d", dump.FullName + "/%H%M%S.", "127.0.0.1:" + port, "10"];
            if (Environment.UserName == "root")
            {
                arguments.InsertRange(0, ["-u", "nobody"]);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dump.FullName, (UnixFileMode)0x1FF); // smtp-sink writes as nobody
            }
            await using var peer = BackgroundProcess.Start(sink, arguments);
            await PeerPorts.WaitUntilListeningAsync(peer, port, ct);
            await using var client = new SmtpRawClient();
            await client.ConnectAsync("127.0.0.1", port, cancellationToken: ct);
            await SmtpDialogue.SendAsync(client, message, cancellationToken: ct);
            await client.QuitAsync(ct);
            return (client.Transcript, await File.ReadAllTextAsync(Assert.Single(dump.GetFiles()).FullName, ct));
        }
        finally { dump.Delete(recursive: true); }
    }

    [SkippableFact]
    public async Task Our_client_does_STARTTLS_and_AUTH_with_aiosmtpd()
    {
        var python = ExternalProcess.Require("/usr/bin/python3", "python3"); // Debian's python, where python3-aiosmtpd lives
        var check = await ExternalProcess.RunAsync(python, ["-c", "import aiosmtpd"], TimeSpan.FromSeconds(10));
        Skip.If(check.ExitCode != 0, "aiosmtpd is not installed (apt-get install python3-aiosmtpd); .ci/run installs it.");
        var ct = MailTestKit.Deadline(20);
        var folder = Directory.CreateTempSubdirectory("netlabs-aiosmtpd-");
        try
        {
            using var certificate = SelfSignedCertificate.Create("localhost");
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "cert.pem"), certificate.ExportCertificatePem(), ct);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "key.pem"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), ct);
            var port = PeerPorts.Free();
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "peer.py"), AiosmtpdScript, ct);
            await using var peer = BackgroundProcess.Start(python, [Path.Combine(folder.FullName, "peer.py"), folder.FullName, port.ToString()]);
            await PeerPorts.WaitUntilListeningAsync(peer, port, ct);

            var options = new SmtpClientOptions { TrustedCertificateSha256 = certificate.GetCertHashString(HashAlgorithmName.SHA256) };
            var address = new SmtpServerAddress("127.0.0.1", port, SmtpSecurity.StartTls) { User = "student", Password = "pw" };
            var transcript = await SmtpDialogue.SendAsync(address, MailTestKit.Plain("via aiosmtpd", "over TLS\r\n"), options, cancellationToken: ct);
            Assert.Contains("* TLS established", transcript.ToString());
            var received = Path.Combine(folder.FullName, "received.eml");
            for (var i = 0; i < 100 && !File.Exists(received); i++) await Task.Delay(50, ct);
            var text = await File.ReadAllTextAsync(received, ct);
            Assert.Contains("Subject: via aiosmtpd", text);
            Assert.Contains("tls=True auth=student", text);
        }
        finally { folder.Delete(recursive: true); }
    }

    /// <summary>aiosmtpd with STARTTLS required and AUTH checked; it writes what it got to received.eml.</summary>
    private const string AiosmtpdScript = """
        import asyncio, ssl, sys
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
        folder, port = sys.argv[1], int(sys.argv[2])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(folder + "/cert.pem", folder + "/key.pem")
        def check(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == b"student" and auth_data.password == b"pw"
            return AuthResult(success=ok, auth_data=auth_data.login if ok else None)
        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with open(folder + "/received.eml", "wb") as f:
                    f.write(b"X-Check: tls=%s auth=%s\r\n" % (str(session.ssl is not None).encode(), session.auth_data if session.authenticated else b"-"))
                    f.write(envelope.original_content)
                return "250 OK"
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                                authenticator=check, auth_require_tls=True)
        controller.start()
        asyncio.new_event_loop().run_until_complete(asyncio.sleep(60))
        """;

    public static TheoryData<string, string[]> SwaksCases => new()
    {
        { "plain", [] },
        { "starttls-auth", ["--tls", "--auth", "PLAIN", "--auth-user", MailTestKit.User, "--auth-password", MailTestKit.Password] },
        { "implicit-tls-login", ["--tls-on-connect", "--auth", "LOGIN", "--auth-user", MailTestKit.User, "--auth-password", MailTestKit.Password] },
    };

    [SkippableTheory]
    [MemberData(nameof(SwaksCases))]
    public async Task Swaks_delivers_to_our_server(string name, string[] extra)
    {
        var swaks = ExternalProcess.Require("swaks", "swaks");
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer();
        var port = name.StartsWith("implicit") ? server.ImplicitTlsPort!.Value : server.Port;
        string[] arguments = ["--server", "127.0.0.1", "--port", port.ToString(), "--from", "alice@netlabs.test", "--to", "bob@localhost",
            "--header", "Subject: swaks " + name, "--body", "first\n.\n.dot line\nend", .. extra];
        var result = await ExternalProcess.RunAsync(swaks, arguments, TimeSpan.FromSeconds(15), cancellationToken: ct);
        Assert.True(result.ExitCode == 0, result.ToString());
        var received = Assert.Single(server.Messages);
        Assert.Equal("swaks " + name, received.Message.Subject);
        Assert.Equal("first\n.\n.dot line\nend", received.Message.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Equal(extra.Length > 0, received.WasSecure);
        Assert.Equal(extra.Length > 0 ? MailTestKit.User : null, received.AuthenticatedUser);
    }

    [SkippableFact]
    public async Task Swaks_with_a_wrong_password_is_refused_with_535()
    {
        var swaks = ExternalProcess.Require("swaks", "swaks");
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer();
        var result = await ExternalProcess.RunAsync(swaks, ["--server", "127.0.0.1", "--port", server.Port.ToString(), "--to", "bob@localhost",
            "--tls", "--auth", "PLAIN", "--auth-user", MailTestKit.User, "--auth-password", "wrong"], TimeSpan.FromSeconds(15), cancellationToken: ct);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("535 5.7.8", result.StandardOutput);
        Assert.Equal(0, server.Counters.MessagesAccepted);
    }

    [Theory]
    [InlineData(SecureSocketOptions.StartTls)]
    [InlineData(SecureSocketOptions.SslOnConnect)]
    public async Task MailKit_sends_to_our_server_with_TLS_and_AUTH(SecureSocketOptions security)
    {
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer(o => o with { RequireAuthentication = true });
        var pin = server.CertificateSha256!;
        using var client = new SmtpClient();
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString(HashAlgorithmName.SHA256) == pin;
        var port = security == SecureSocketOptions.SslOnConnect ? server.ImplicitTlsPort!.Value : server.Port;
        await client.ConnectAsync("127.0.0.1", port, security, ct);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(MailTestKit.User, "wrong", ct));
        await client.AuthenticateAsync(MailTestKit.User, MailTestKit.Password, ct);
        var message = MailMessages.TextWithImages("alice@netlabs.test", "bob@localhost", "MailKit ✓", ".dot first\nsecond", [MailTestKit.ImagePath]);
        await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
        var received = Assert.Single(server.Messages);
        Assert.Equal("MailKit ✓", received.Message.Subject);
        Assert.StartsWith(".dot first", received.Message.TextBody);
        Assert.True(received.WasSecure);
    }

    [Fact]
    public async Task MailKitSender_log_lines_up_with_ours()
    {
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer();
        var address = new SmtpServerAddress(server.Host, server.Port, SmtpSecurity.StartTls) { User = MailTestKit.User, Password = MailTestKit.Password };
        var ours = await SmtpDialogue.SendAsync(address, MailTestKit.Plain(), server.TrustingClientOptions(), cancellationToken: ct);
        var theirs = await MailKitSender.SendAsync(address, MailTestKit.Plain(), server.TrustingClientOptions(), ct);
        Assert.Equal(2, server.Counters.MessagesAccepted);
        Assert.Contains(theirs.Entries, e => e.Party == SmtpParty.Client && e.Text.StartsWith("STARTTLS"));
        Assert.DoesNotContain(MailTestKit.Password, theirs.ToString());
        Assert.Contains("C: STARTTLS", SmtpTranscript.SideBySide(ours, theirs).ToString());
    }

    [SkippableFact]
    public async Task Openssl_s_client_completes_the_STARTTLS_handshake()
    {
        var openssl = ExternalProcess.Require("openssl", "openssl");
        var ct = MailTestKit.Deadline(20);
        await using var server = MailTestKit.StartServer();
        var result = await ExternalProcess.RunAsync(openssl, ["s_client", "-starttls", "smtp", "-connect", $"127.0.0.1:{server.Port}", "-servername", "localhost", "-brief"],
            TimeSpan.FromSeconds(15), standardInput: "EHLO openssl.test\r\nQUIT\r\n", cancellationToken: ct);
        var output = result.StandardOutput + result.StandardError;
        Assert.Contains("CONNECTION ESTABLISHED", output);
        Assert.Contains("Protocol version: TLSv1.3", output);
        Assert.Contains("CN = localhost", output);
        Assert.False(result.TimedOut, result.ToString());
    }
}

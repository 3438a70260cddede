using System.Text;
using NetLabs.Capture;
using NetLabs.Mail;
using NetLabs.Tests.Mail;
using NetLabs.Tests.Support;
using NetLabs.Web;

namespace NetLabs.Tests.Capture;

/// <summary>
/// The lab's own loopback traffic captured with libpcap, as root (CI): the packets are checked against what the
/// protocols say must be on the wire. Without the privilege or libpcap the tests are skipped with the card's reason.
/// </summary>
public sealed class CaptureTests
{
    private static CancellationToken Deadline() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    /// <summary>Runs the traffic captured; skips (with the fix) where this machine cannot capture.</summary>
    private static async Task<Captured<T>> CaptureAsync<T>(CaptureOptions options, Func<CancellationToken, Task<T>> traffic)
    {
        var seen = await PacketCapture.AroundAsync(options, traffic, Deadline());
        Skip.If(seen.Capture.Failure is not null, $"cannot capture here: {seen.Capture.Failure}");
        return seen;
    }

    private static int IndexOf(CaptureResult seen, Func<CapturedPacket, bool> match, int after = -1)
    {
        for (var i = after + 1; i < seen.Packets.Count; i++)
            if (match(seen.Packets[i])) return i;
        Assert.Fail($"no such packet after #{after + 1} in:\n{string.Join('\n', seen.Packets)}");
        return -1;
    }

    [SkippableFact]
    public async Task A_web_request_shows_handshake_request_response_and_close_in_order()
    {
        await using var server = WebServer.Start(new WebServerOptions { Root = Path.Combine(RepoPaths.Data, "www") });
        var (exchange, seen) = await CaptureAsync(CaptureOptions.ForPorts(server.Port),
            ct => HttpRawClient.GetAsync("127.0.0.1", server.Port, "HelloWorld.html", cancellationToken: ct));
        Assert.Equal(200, exchange.StatusCode);

        var syn = IndexOf(seen, p => p.Flags == TcpFlags.Syn && p.DestinationPort == server.Port);
        var synAck = IndexOf(seen, p => p.Flags == (TcpFlags.Syn | TcpFlags.Ack) && p.SourcePort == server.Port, syn);
        var ack = IndexOf(seen, p => p.Flags == TcpFlags.Ack && p.FromClient, synAck);
        var request = IndexOf(seen, p => p.FromClient && p.FirstBytes.StartsWith("GET /HelloWorld.html "), ack);
        var response = IndexOf(seen, p => !p.FromClient && p.FirstBytes.StartsWith("HTTP/1.1 200 OK"), request);
        var serverFin = IndexOf(seen, p => !p.FromClient && p.Flags.HasFlag(TcpFlags.Fin), request);
        var clientFin = IndexOf(seen, p => p.FromClient && p.Flags.HasFlag(TcpFlags.Fin), request);
        Assert.True(response <= serverFin, "the server's FIN comes with or after its response");
        Assert.Equal((0L, (long?)null), (seen.Packets[syn].Sequence!.Value, seen.Packets[syn].Acknowledgment));
        Assert.Equal((0L, (long?)1), (seen.Packets[synAck].Sequence!.Value, seen.Packets[synAck].Acknowledgment));
        Assert.Equal(1L, seen.Packets[request].Sequence);

        var connection = Assert.Single(seen.Connections);
        Assert.Equal(server.Port, connection.Server.Port);
        Assert.NotNull(connection.Handshake);
        Assert.Equal("FIN both ways", connection.Closed);
        Assert.True(connection.Complete);
        Assert.Equal(seen.Packets[request].PayloadLength, connection.BytesToServer);
        Assert.Contains("GET /HelloWorld.html", seen.ToHtml());
        Assert.True(clientFin > syn);
    }

    [SkippableFact]
    public async Task A_connection_made_the_moment_capture_starts_is_captured_from_its_SYN()
    {
        await using var server = WebServer.Start(new WebServerOptions { Root = Path.Combine(RepoPaths.Data, "www") });
        await HttpRawClient.GetAsync("127.0.0.1", server.Port, "HelloWorld.html"); // warm: the next connect() leaves at once
        const int runs = 3;
        var missed = new List<int>();
        for (var run = 0; run < runs; run++)
        {
            var (_, seen) = await CaptureAsync(CaptureOptions.ForPorts(server.Port),
                ct => HttpRawClient.GetAsync("127.0.0.1", server.Port, "HelloWorld.html", cancellationToken: ct));
            if (!(seen.Packets.Count > 0 && seen.Packets[0].Flags == TcpFlags.Syn)) missed.Add(run);
        }
        Assert.True(missed.Count == 0, $"missed the SYN in runs {string.Join(",", missed)} of {runs}");
    }

    [SkippableFact]
    public async Task A_one_megabyte_transfer_is_captured_whole()
    {
        var root = Directory.CreateTempSubdirectory("netlabs-capture-");
        try
        {
            var body = new byte[1024 * 1024];
            new Random(17).NextBytes(body);
            await File.WriteAllBytesAsync(Path.Combine(root.FullName, "big.bin"), body);
            await using var server = WebServer.Start(new WebServerOptions { Root = root.FullName });
            var (exchange, seen) = await CaptureAsync(CaptureOptions.ForPorts(server.Port),
                ct => HttpRawClient.GetAsync("127.0.0.1", server.Port, "big.bin", cancellationToken: ct));
            Assert.Equal(body, exchange.Body.ToArray());

            var connection = Assert.Single(seen.Connections);
            Assert.Equal(0, connection.Gaps);
            Assert.Equal("FIN both ways", connection.Closed);
            // Every byte the server sent is in a captured segment: its head and the 1 MiB body, no hole in the sequence numbers,
            // and the FIN's sequence number is right after the last byte.
            Assert.InRange(connection.BytesToClient, body.Length + 100, body.Length + 2048);
            Assert.Equal(connection.BytesToClient, seen.Packets.Where(p => !p.FromClient && p.Note.Length == 0).Sum(p => (long)p.PayloadLength));
            var fin = seen.Packets.Single(p => !p.FromClient && p.Flags.HasFlag(TcpFlags.Fin));
            Assert.Equal(connection.BytesToClient + 1, fin.Sequence + fin.PayloadLength);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task After_STARTTLS_only_TLS_records_are_on_the_wire()
    {
        var ct = MailTestKit.Deadline();
        await using var server = MailTestKit.StartServer(o => o with { RequireAuthentication = true });
        var (_, seen) = await CaptureAsync(CaptureOptions.ForPorts(server.Port), async token =>
        {
            await using var client = new SmtpRawClient(server.TrustingClientOptions());
            await client.ConnectAsync(server.Host, server.Port, SmtpSecurity.StartTls, token);
            await client.AuthenticateAsync(MailTestKit.User, MailTestKit.Password, "PLAIN", token);
            await SmtpDialogue.SendAsync(client, MailTestKit.Plain(subject: "Secret subject"), cancellationToken: token);
            await client.QuitAsync(token);
            return 0;
        });

        var starttls = IndexOf(seen, p => p.FromClient && p.FirstBytes.StartsWith("STARTTLS"));
        var ready = IndexOf(seen, p => !p.FromClient && p.FirstBytes.StartsWith("220 "), starttls);
        var hello = IndexOf(seen, p => p.FromClient && p.PayloadLength > 0, ready);
        Assert.Contains("ClientHello", seen.Packets[hello].Tls);
        IndexOf(seen, p => !p.FromClient && p.Tls.Contains("ServerHello"), hello);
        Assert.Contains(seen.Packets.Skip(hello), p => p.Tls.Any(t => t.StartsWith("Application Data")));
        foreach (var packet in seen.Packets.Skip(hello).Where(p => p.PayloadLength > 0))
        {
            var wire = packet.PayloadText;
            foreach (var readable in new[] { "MAIL FROM", "RCPT TO", "AUTH", "DATA", "QUIT", "Secret subject", "EHLO" })
                Assert.DoesNotContain(readable, wire);
        }
        // Before STARTTLS the dialogue is readable on the wire.
        Assert.Contains(seen.Packets.Take(starttls), p => p.FirstBytes.StartsWith("EHLO "));
    }

    /// <summary>
    /// After QUIT's 221 over TLS the server sends close_notify and FIN. A client that closes at once, with those still
    /// on their way, gets them on a closed socket, and its kernel answers with a reset (notebook 03's capture showed
    /// one). The server here waits 200 ms between the 221 and its close_notify, so the race is decided every time.
    /// </summary>
    [SkippableFact]
    public async Task Quit_over_TLS_waits_for_the_servers_close_notify_and_ends_with_FIN_both_ways()
    {
        using var certificate = SelfSignedCertificate.Create("localhost");
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(Deadline());
            var plain = new System.Net.Sockets.NetworkStream(socket);
            async Task<string> Line(Stream s)
            {
                var line = new List<byte>();
                var one = new byte[1];
                while (await s.ReadAsync(one, Deadline()) == 1 && one[0] != '\n') line.Add(one[0]);
                return Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
            }
            Task Say(Stream s, string text) => s.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"), Deadline()).AsTask();
            await Say(plain, "220 scripted ESMTP");
            await Line(plain); await Say(plain, "250-scripted\r\n250 STARTTLS");
            await Line(plain); await Say(plain, "220 Ready to start TLS");
            using var tls = new System.Net.Security.SslStream(plain);
            await tls.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificate = certificate }, Deadline());
            await Line(tls); await Say(tls, "250-scripted\r\n250 OK");
            await Line(tls); await Say(tls, "221 Bye");
            await Task.Delay(200);
            await tls.ShutdownAsync();
            socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            var rest = new byte[4096];
            while (await socket.ReceiveAsync(rest, System.Net.Sockets.SocketFlags.None, Deadline()) > 0) { }
        });
        try
        {
            var options = new SmtpClientOptions { TrustedCertificateSha256 = certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) };
            var (_, seen) = await CaptureAsync(CaptureOptions.ForPorts(port), async token =>
            {
                await using var client = new SmtpRawClient(options);
                await client.ConnectAsync("127.0.0.1", port, SmtpSecurity.StartTls, token);
                await client.QuitAsync(token);
                return 0;
            });
            await server.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(Assert.Single(seen.Connections).Closed == "FIN both ways", string.Join('\n', seen.Packets));
        }
        finally { listener.Stop(); }
    }

    [SkippableFact]
    public async Task The_pcapng_file_reads_back_with_tcpdump()
    {
        var tcpdump = ExternalProcess.Require("tcpdump", "tcpdump");
        await using var server = WebServer.Start(new WebServerOptions { Root = Path.Combine(RepoPaths.Data, "www") });
        var (_, seen) = await CaptureAsync(CaptureOptions.ForPorts(server.Port),
            ct => HttpRawClient.GetAsync("127.0.0.1", server.Port, "HelloWorld.html", cancellationToken: ct));
        var file = Path.Combine(Path.GetTempPath(), $"netlabs-capture-{Guid.NewGuid():N}.pcapng");
        try
        {
            Assert.Equal(file, seen.SavePcapng(file).Path);
            var read = await ExternalProcess.RunAsync(tcpdump, ["-nn", "-r", file], TimeSpan.FromSeconds(20));
            Assert.True(read.ExitCode == 0, read.ToString());
            var lines = read.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(seen.Packets.Count, lines.Length);
            Assert.Contains("Flags [S]", lines[0]);
            Assert.Contains($"127.0.0.1.{server.Port}", lines[0]);
            // The request's segment: PSH, and FIN too when the client's close caught up with it before it left ([FP.]).
            var request = seen.Packets[IndexOf(seen, p => p.FirstBytes.StartsWith("GET"))];
            Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"Flags \[F?P\.\]") && l.Contains($"length {request.PayloadLength}"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Cli;

/// <summary>Each `netlabs` command against its counterpart on loopback, through the built tool.</summary>
public sealed partial class CliCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex EndPointPattern();

    internal static int PortIn(string line) => int.Parse(EndPointPattern().Match(line).Groups[2].Value);

    /// <summary>
    /// Stops a server as a service manager does (SIGTERM; Ctrl+C's SIGINT takes the same path, but a process started
    /// from a non-interactive shell may have inherited SIGINT as ignored) and expects a clean exit.
    /// </summary>
    internal static async Task StopCleanlyAsync(BackgroundProcess server, string expectedLastWords)
    {
        var exitCode = await server.SignalAsync(Wait, "TERM");
        Assert.True(exitCode == 0, $"exit code {exitCode}\n{server.Output}");
        Assert.Contains(expectedLastWords, server.Output);
    }

    [Fact]
    public async Task Web_get_against_web_serve_shows_the_wire_and_the_access_log()
    {
        await using var server = NetlabsTool.Start("web", "serve", "--port", "0", "--root", Path.Combine(RepoPaths.Data, "www"));
        var port = PortIn(await server.WaitForLineAsync(l => l.StartsWith("web server (sequential)"), Wait));

        var wire = await NetlabsTool.RunAsync(Wait, "web", "get", "127.0.0.1", port.ToString(), "HelloWorld.html", "--wire");
        Assert.True(wire.ExitCode == 0, wire.ToString());
        Assert.Contains("GET /HelloWorld.html HTTP/1.1\\r\\n", wire.StandardOutput);
        Assert.Contains("HTTP/1.1 200 OK\\r\\n", wire.StandardOutput);

        var image = Path.Combine(Path.GetTempPath(), $"netlabs-{Guid.NewGuid():N}.png");
        try
        {
            var png = Directory.GetFiles(Path.Combine(RepoPaths.Data, "www"), "*.png", SearchOption.AllDirectories).First();
            var saved = await NetlabsTool.RunAsync(Wait, "web", "get", "localhost", port.ToString(), Path.GetRelativePath(Path.Combine(RepoPaths.Data, "www"), png).Replace('\\', '/'), "-o", image);
            Assert.True(saved.ExitCode == 0, saved.ToString());
            Assert.Equal(await File.ReadAllBytesAsync(png), await File.ReadAllBytesAsync(image));
        }
        finally
        {
            File.Delete(image);
        }

        var missing = await NetlabsTool.RunAsync(Wait, "web", "get", "127.0.0.1", port.ToString(), "no-such-page.html");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("HTTP/1.1 404 Not Found", missing.StandardOutput);

        await server.WaitForLineAsync(l => l.Contains("\"GET /no-such-page.html\" 404"), Wait);
        Assert.Contains("\"GET /HelloWorld.html\" 200", server.Output);
        await StopCleanlyAsync(server, "web server stopped after 3 request(s).");
    }

    [Fact]
    public async Task Ping_against_ping_serve_prints_the_textbook_lines_and_summary()
    {
        await using var server = NetlabsTool.Start("ping", "serve", "--port", "0", "--loss", "0", "--seed", "7");
        var port = PortIn(await server.WaitForLineAsync(l => l.Contains("listening on udp"), Wait));

        var ping = await NetlabsTool.RunAsync(Wait, "ping", "127.0.0.1", "--port", port.ToString(), "--count", "5", "--timeout", "2s");
        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Equal(5, Regex.Matches(ping.StandardOutput, @"Reply from 127\.0\.0\.1:\d+: PING \d+ [\d.]+  RTT = [\d.]+ ms").Count);
        Assert.Contains("5 packets transmitted, 5 received, 0% packet loss", ping.StandardOutput);
        Assert.Contains("rtt min/avg/max/mdev", ping.StandardOutput);

        await StopCleanlyAsync(server, "ping server stopped: 5 received, 0 dropped, 5 echoed");
    }

    [Fact]
    public async Task Ping_json_output_is_one_object_per_ping_then_the_summary()
    {
        await using var server = NetlabsTool.Start("ping", "serve", "--port", "0", "--loss", "1", "--quiet");
        var port = PortIn(await server.WaitForLineAsync(l => l.Contains("listening on udp"), Wait));

        var ping = await NetlabsTool.RunAsync(Wait, "ping", "localhost", "--port", port.ToString(), "--count", "3", "--timeout", "100ms", "--json");
        Assert.Equal(1, ping.ExitCode); // everything lost: like ping, a failure
        var lines = ping.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(4, lines.Count);
        Assert.All(lines.Take(3), l => Assert.Equal("timeout", (string?)l["outcome"]));
        Assert.Equal(3, (int)lines[3]["summary"]!["sent"]!);
        Assert.Equal(100.0, (double)lines[3]["summary"]!["lossPercent"]!);
        Assert.Null(lines[3]["summary"]!["avgMs"]);
        await StopCleanlyAsync(server, "ping server stopped: 3 received, 3 dropped");
    }

    [Fact]
    public async Task Heartbeat_server_notices_the_client_stopping()
    {
        await using var server = NetlabsTool.Start("heartbeat", "serve", "--port", "0", "--stopped-after", "1500ms");
        var port = PortIn(await server.WaitForLineAsync(l => l.Contains("listening on udp"), Wait));

        var send = await NetlabsTool.RunAsync(Wait, "heartbeat", "send", "127.0.0.1", "--port", port.ToString(), "--id", "student-7",
            "--interval", "20ms", "--count", "10", "--skip", "0.3", "--seed", "3");
        Assert.True(send.ExitCode == 0, send.ToString());
        var sent = Regex.Match(send.StandardOutput, @"sent (\d+) heartbeat\(s\), skipped (\d+)");
        Assert.True(sent.Success, send.ToString());
        var stopped = await server.WaitForLineAsync(l => l.Contains("client student-7@") && l.Contains("stopped"), Wait);
        Assert.Contains($"{sent.Groups[1].Value} received", stopped);
        await StopCleanlyAsync(server, "student-7");
    }

    [Fact]
    public async Task Mail_send_with_starttls_and_auth_reaches_mail_serve()
    {
        var password = Guid.NewGuid().ToString("N");
        var store = Directory.CreateTempSubdirectory("netlabs-cli-mail-");
        try
        {
            await using var server = BackgroundProcess.Start("dotnet",
                NetlabsTool.Arguments("mail", "serve", "--port", "0", "--user", "alice", "--require-auth", "--store", store.FullName),
                environment: new Dictionary<string, string> { ["NETLABS_MAIL_PASSWORD"] = password });
            var port = PortIn(await server.WaitForLineAsync(l => l.StartsWith("mail server listening"), Wait));
            var fingerprint = Regex.Match(await server.WaitForLineAsync(l => l.StartsWith("certificate SHA-256"), Wait), "[0-9A-F]{64}").Value;

            var image = Path.Combine(RepoPaths.Data, "mail", "envelope.png");
            var send = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments("mail", "send", "--server", $"127.0.0.1:{port}",
                    "--from", "alice@netlabs.test", "--to", "bob@netlabs.test", "--subject", "Lab 3", "--body", ".\nA line\n.. two dots",
                    "--image", image, "--starttls", "--user", "alice", "--trust", fingerprint),
                Wait, environment: new Dictionary<string, string> { ["NETLABS_SMTP_PASSWORD"] = password });
            Assert.True(send.ExitCode == 0, send.ToString());
            Assert.Contains("S: 220", send.StandardOutput);
            Assert.Contains("C: STARTTLS", send.StandardOutput);
            Assert.DoesNotContain(password, send.StandardOutput + send.StandardError);
            Assert.DoesNotContain(password, server.Output);

            await server.WaitForLineAsync(l => l.Contains("accepted #1 from alice@netlabs.test to bob@netlabs.test") && l.Contains("TLS, user alice"), Wait);
            var eml = Assert.Single(Directory.GetFiles(store.FullName, "*.eml"));
            var received = await MimeKit.MimeMessage.LoadAsync(eml);
            Assert.Equal(".\nA line\n.. two dots", received.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n'));
            Assert.Equal(await File.ReadAllBytesAsync(image), DecodedImage(received));
            await StopCleanlyAsync(server, "mail server stopped after 1 message(s).");
        }
        finally
        {
            store.Delete(recursive: true);
        }
    }

    private static byte[] DecodedImage(MimeKit.MimeMessage message)
    {
        var part = message.BodyParts.OfType<MimeKit.MimePart>().Single(p => p.ContentType.MediaType == "image");
        using var bytes = new MemoryStream();
        part.Content!.DecodeTo(bytes);
        return bytes.ToArray();
    }

    [Fact]
    public async Task A_refusing_mail_server_gives_one_line_and_a_failure_exit()
    {
        await using var server = NetlabsTool.Start("mail", "serve", "--port", "0", "--tls", "none");
        var port = PortIn(await server.WaitForLineAsync(l => l.StartsWith("mail server listening"), Wait));
        var send = await NetlabsTool.RunAsync(Wait, "mail", "send", "--server", $"127.0.0.1:{port}", "--from", "a@netlabs.test", "--to", "someone@elsewhere.example");
        Assert.Equal(1, send.ExitCode);
        Assert.Equal("netlabs: the mail server refused RCPT: 550 5.7.1 Relaying denied: we accept mail only for localhost, netlabs.test", send.StandardError.Trim());
    }

    [Fact]
    public async Task Failures_are_one_line_with_a_non_zero_exit()
    {
        using var taken = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var takenPort = ((IPEndPoint)taken.Client.LocalEndPoint!).Port;
        var inUse = await NetlabsTool.RunAsync(Wait, "ping", "serve", "--port", takenPort.ToString());
        Assert.NotEqual(0, inUse.ExitCode);
        Assert.Equal($"netlabs: UDP port {takenPort} on 127.0.0.1 is already in use, so the ping server cannot listen there: another program (or an earlier run that was not stopped) holds it. Stop that one, pick another port, or use port 0 for a free one.", inUse.StandardError.Trim());

        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var closedPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var refused = await NetlabsTool.RunAsync(Wait, "mail", "send", "--server", $"127.0.0.1:{closedPort}", "--from", "a@x.test", "--to", "b@x.test");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("netlabs: connection refused: nothing is listening at that host and port.", refused.StandardError.Trim());

        using var tcpTaken = new TcpListener(IPAddress.Loopback, 0);
        tcpTaken.Start();
        var webInUse = await NetlabsTool.RunAsync(Wait, "web", "serve", "--port", ((IPEndPoint)tcpTaken.LocalEndpoint).Port.ToString());
        Assert.NotEqual(0, webInUse.ExitCode);
        Assert.Single(webInUse.StandardError.Trim().Split('\n'));
        Assert.Contains("in use", webInUse.StandardError);

        var missingRoot = await NetlabsTool.RunAsync(Wait, "web", "serve", "--port", "0", "--root", "/no/such/folder");
        Assert.NotEqual(0, missingRoot.ExitCode);
        Assert.Contains("does not exist", missingRoot.StandardError);

        var unknownHost = await NetlabsTool.RunAsync(Wait, "ping", "no-such-host.invalid");
        Assert.Equal(1, unknownHost.ExitCode);
        Assert.Single(unknownHost.StandardError.Trim().Split('\n'));

        var badServer = await NetlabsTool.RunAsync(Wait, "mail", "send", "--server", "nowhere", "--from", "a@x.test", "--to", "b@x.test");
        Assert.Equal(2, badServer.ExitCode);
        Assert.StartsWith("netlabs: --server 'nowhere' is not HOST:PORT", badServer.StandardError.Trim());

        var noPassword = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments("mail", "serve", "--port", "0", "--user", "alice"), Wait, standardInput: "");
        Assert.Equal(2, noPassword.ExitCode);
        Assert.Contains("NETLABS_MAIL_PASSWORD", noPassword.StandardError);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("web", "serve", "--help")]
    [InlineData("web", "get", "--help")]
    [InlineData("ping", "--help")]
    [InlineData("ping", "serve", "--help")]
    [InlineData("heartbeat", "send", "--help")]
    [InlineData("mail", "serve", "--help")]
    [InlineData("mail", "send", "--help")]
    [InlineData("notebooks", "run", "--help")]
    public async Task Every_command_has_help(params string[] arguments)
    {
        var help = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("Usage:", help.StandardOutput);
        Assert.Contains("Options:", help.StandardOutput);
    }
}

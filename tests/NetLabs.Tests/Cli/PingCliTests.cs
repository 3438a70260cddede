using NetLabs.Tests.Ping;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Cli;

/// <summary>`netlabs ping` and `netlabs heartbeat` given what an outside tester gives them.</summary>
public sealed class PingCliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("--count -1", "ping", "127.0.0.1", "--count", "-1")]
    [InlineData("--timeout", "ping", "127.0.0.1", "--timeout", "1e9")]
    [InlineData("--interval", "ping", "127.0.0.1", "--interval", "1e12")]
    [InlineData("--timeout 'NaN'", "ping", "127.0.0.1", "--timeout", "NaN")]
    [InlineData("--port 0", "ping", "127.0.0.1", "--port", "0")]
    [InlineData("--loss", "ping", "serve", "--port", "0", "--loss", "2")]
    [InlineData("--delay-ms", "ping", "serve", "--port", "0", "--delay-ms", "1e300")]
    [InlineData("--interval '0'", "heartbeat", "send", "127.0.0.1", "--interval", "0", "--count", "1")]
    [InlineData("--id: A client id is one word", "heartbeat", "send", "127.0.0.1", "--id", "has space", "--count", "1")]
    [InlineData("--id: A client id is one word", "heartbeat", "send", "127.0.0.1", "--id", "é", "--count", "1")]
    [InlineData("--count 0", "heartbeat", "send", "127.0.0.1", "--count", "0")]
    [InlineData("--skip", "heartbeat", "send", "127.0.0.1", "--skip", "-0.5", "--count", "1")]
    [InlineData("--stopped-after '0'", "heartbeat", "serve", "--port", "0", "--stopped-after", "0")]
    public async Task Every_bad_option_is_one_line_naming_the_option(string expected, params string[] arguments)
    {
        var run = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.True(run.ExitCode == 2, run.ToString());
        var error = run.StandardError.Trim();
        Assert.Single(error.Split('\n'));
        Assert.StartsWith("netlabs: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("Unhandled", run.StandardOutput + run.StandardError);
        Assert.DoesNotContain("sent", run.StandardOutput); // nothing went out
    }

    [Fact]
    public async Task Heartbeat_send_refuses_a_10KB_id_the_server_would_reject()
    {
        var run = await NetlabsTool.RunAsync(Wait, "heartbeat", "send", "127.0.0.1", "--id", new string('x', 10_000), "--count", "2");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("netlabs: --id: A client id is at most 64 characters (this one has 10000).", run.StandardError.Trim());
    }

    [SkippableFact]
    public async Task Ping_to_a_closed_port_says_port_unreachable()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsWindows(), "only Linux and Windows report ICMP port unreachable on a UDP socket");
        var port = PingHardeningTests.ClosedUdpPort();
        var run = await NetlabsTool.RunAsync(Wait, "ping", "127.0.0.1", "--port", port.ToString(), "--count", "3", "--timeout", "10s");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"netlabs: port unreachable: nothing listens on UDP {port} at 127.0.0.1 (is the ping server running, on that port?).", run.StandardError.Trim());
        Assert.DoesNotContain("Request timed out", run.StandardOutput);
    }

    [Fact]
    public async Task Ping_with_interval_0_is_the_labs_back_to_back_run()
    {
        await using var server = NetlabsTool.Start("ping", "serve", "--port", "0", "--loss", "0", "--quiet");
        var port = CliCommandTests.PortIn(await server.WaitForLineAsync(l => l.Contains("listening on udp"), Wait));
        var ping = await NetlabsTool.RunAsync(Wait, "ping", "127.0.0.1", "--port", port.ToString(), "--count", "3", "--interval", "0");
        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Contains("3 packets transmitted, 3 received", ping.StandardOutput);
        await CliCommandTests.StopCleanlyAsync(server, "ping server stopped: 3 received, 0 dropped, 3 echoed");
    }

    [Fact]
    public async Task Heartbeat_serve_survives_a_forged_sequence_number_and_stops_on_SIGTERM()
    {
        await using var server = NetlabsTool.Start("heartbeat", "serve", "--port", "0", "--stopped-after", "30s");
        var port = CliCommandTests.PortIn(await server.WaitForLineAsync(l => l.Contains("listening on udp"), Wait));
        using var forger = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        var target = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port);
        forger.SendTo("Heartbeat m 1 1764149416.0"u8, target);
        forger.SendTo("Heartbeat m 9223372036854775807 1764149416.5"u8, target);
        var gap = await server.WaitForLineAsync(l => l.Contains("Lost") && l.Contains("m@"), Wait);
        Assert.Contains("seq 2 (+9223372036854775804 more)", gap);

        forger.SendTo("Heartbeat other 1 1764149417.0"u8, target);
        await server.WaitForLineAsync(l => l.Contains("Received") && l.Contains("other@"), Wait); // still serving
        await CliCommandTests.StopCleanlyAsync(server, "other@");
    }
}

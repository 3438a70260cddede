using System.Text.RegularExpressions;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Cli;

/// <summary>
/// The classroom for real: each server runs in one network namespace, its client in another, joined by a veth pair
/// with their own addresses. The servers are bound to their host's address, exactly as a teacher binds to the room's
/// network; loopback is not involved.
/// </summary>
public sealed class TwoHostTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    internal static BackgroundProcess StartIn(string ns, params string[] arguments) =>
        BackgroundProcess.Start("ip", TwoHosts.InNamespace(ns, "dotnet", NetlabsTool.Arguments(arguments)));

    internal static Task<ProcessResult> RunIn(string ns, params string[] arguments) =>
        ExternalProcess.RunAsync("ip", TwoHosts.InNamespace(ns, "dotnet", NetlabsTool.Arguments(arguments)), Wait);

    [SkippableFact]
    public async Task Web_ping_and_mail_work_across_two_hosts()
    {
        await using var hosts = await TwoHosts.CreateAsync();
        var server = hosts.ServerAddress.ToString();

        await using (var web = StartIn(hosts.ServerNamespace, "web", "serve", "--bind", server, "--port", "6789", "--root", Path.Combine(RepoPaths.Data, "www")))
        {
            await web.WaitForLineAsync(l => l.Contains($"http://{server}:6789/"), Wait);
            var get = await RunIn(hosts.ClientNamespace, "web", "get", server, "6789", "HelloWorld.html");
            Assert.True(get.ExitCode == 0, get + web.Output);
            Assert.StartsWith("HTTP/1.1 200 OK", get.StandardOutput);
            // The server saw the other host's address, not loopback.
            await web.WaitForLineAsync(l => l.Contains($"{hosts.ClientAddress}:") && l.Contains("\"GET /HelloWorld.html\" 200"), Wait);
        }

        await using (var ping = StartIn(hosts.ServerNamespace, "ping", "serve", "--bind", server, "--loss", "0"))
        {
            await ping.WaitForLineAsync(l => l.Contains($"udp {server}:12000"), Wait);
            var pings = await RunIn(hosts.ClientNamespace, "ping", server, "--count", "4");
            Assert.True(pings.ExitCode == 0, pings + ping.Output);
            Assert.Equal(4, Regex.Matches(pings.StandardOutput, $@"Reply from {Regex.Escape(server)}:12000: PING").Count);
            Assert.Contains("4 packets transmitted, 4 received, 0% packet loss", pings.StandardOutput);
        }

        await using (var mail = StartIn(hosts.ServerNamespace, "mail", "serve", "--bind", server, "--port", "2525"))
        {
            await mail.WaitForLineAsync(l => l.StartsWith($"mail server listening on {server}:2525"), Wait);
            var fingerprint = Regex.Match(await mail.WaitForLineAsync(l => l.StartsWith("certificate SHA-256"), Wait), "[0-9A-F]{64}").Value;
            var send = await RunIn(hosts.ClientNamespace, "mail", "send", "--server", $"{server}:2525", "--from", "student@netlabs.test",
                "--to", "teacher@netlabs.test", "--subject", "across the room", "--starttls", "--trust", fingerprint);
            Assert.True(send.ExitCode == 0, send + mail.Output);
            await mail.WaitForLineAsync(l => l.Contains("accepted #1 from student@netlabs.test") && l.Contains($"from {hosts.ClientAddress}:"), Wait);
        }
    }

    [SkippableFact]
    public async Task A_server_bound_to_loopback_is_not_reachable_from_the_other_host()
    {
        await using var hosts = await TwoHosts.CreateAsync();
        await using var web = StartIn(hosts.ServerNamespace, "web", "serve", "--port", "6789", "--root", Path.Combine(RepoPaths.Data, "www"));
        await web.WaitForLineAsync(l => l.Contains("http://127.0.0.1:6789/"), Wait);
        var get = await RunIn(hosts.ClientNamespace, "web", "get", hosts.ServerAddress.ToString(), "6789", "HelloWorld.html", "--timeout", "5s");
        Assert.Equal(1, get.ExitCode);
        Assert.Equal("netlabs: connection refused: nothing is listening at that host and port.", get.StandardError.Trim());
    }
}

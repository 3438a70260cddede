using NetLabs.Ping;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Capture;

/// <summary><c>netlabs ping --capture-file</c>: the datagrams after the pings, each echo under its ping, the lost ones alone.</summary>
public sealed class CaptureCliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Ping_prints_every_datagram_and_saves_them_for_tcpdump()
    {
        var tcpdump = ExternalProcess.Require("tcpdump", "tcpdump");
        await using var server = PingServer.Start(new PingServerOptions { LossProbability = 0.5, Seed = 4 });
        var file = Path.Combine(Path.GetTempPath(), $"netlabs-ping-{Guid.NewGuid():N}.pcapng");
        try
        {
            var run = await NetlabsTool.RunAsync(Wait, "ping", "127.0.0.1", "--port", server.Port.ToString(), "--count", "6", "--timeout", "200ms", "--capture-file", file);
            Skip.If(run.StandardError.Contains("No packets captured"), $"cannot capture here: {run.StandardError}");
            var lines = run.StandardOutput.Split('\n');
            var pings = lines.Count(l => l.Contains(" UDP ") && l.Contains("Ping "));
            var echoes = lines.Count(l => l.Contains(" UDP ") && l.Contains("PING "));
            Assert.Equal(6, pings);
            Assert.Equal(server.Counters.Echoed, echoes);
            Assert.InRange(echoes, 1, 5); // seed 4 drops some and answers some: a lost ping is a datagram with no answer
            Assert.Contains($"saved {pings + echoes} packets to {file}", run.StandardOutput);
            var read = await ExternalProcess.RunAsync(tcpdump, ["-nn", "-r", file], Wait);
            Assert.Equal(pings + echoes, read.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains("UDP")));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [SkippableFact]
    public async Task Icmp_ping_prints_each_echo_request_with_its_reply()
    {
        var run = await NetlabsTool.RunAsync(Wait, "icmp", "ping", "127.0.0.1", "-c", "2", "-i", "50ms", "--capture");
        Skip.If(run.StandardError.Contains("No packets captured"), $"cannot capture here: {run.StandardError}");
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StandardOutput.Split('\n');
        var requests = lines.Where(l => l.Contains("ICMP echo request id=")).Select(l => l[l.IndexOf("id=", StringComparison.Ordinal)..].Split(' ')[0..2]).ToList();
        Assert.True(requests.Count >= 2, run.StandardOutput);
        foreach (var idAndSeq in requests) // other programs may ping loopback too: each request has its own reply
            Assert.Contains(lines, l => l.Contains($"ICMP echo reply {string.Join(' ', idAndSeq)}"));
    }
}

using NetLabs.Ping;
using NetLabs.Tests.Support;
using static NetLabs.Tests.Ping.PingTestSupport;

namespace NetLabs.Tests.Ping;

/// <summary>Our client and server against independent textbook peers written in Python.</summary>
public class PingInteropTests
{
    [SkippableFact]
    public async Task Our_client_against_the_textbook_python_server()
    {
        var python = RequirePython();
        var portFile = Path.Combine(Path.GetTempPath(), $"netlabs-ping-{Guid.NewGuid():N}.port");
        var peer = ExternalProcess.RunAsync(python, [Script("textbook_server.py"), portFile, "3", "10"], Bound);
        try
        {
            var port = await ReadPortFileAsync(portFile, peer);
            await using var client = new PingClient(new PingClientOptions(new(System.Net.IPAddress.Loopback, port)) { Timeout = TimeSpan.FromMilliseconds(300) });

            var replies = await ToListAsync(client.PingAsync());
            var result = await peer;

            Assert.False(result.TimedOut, result.ToString());
            Assert.Equal(0, result.ExitCode);
            var dropped = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l.Split(' ')[1])).ToArray();
            Assert.NotEmpty(dropped); // seed 3 drops some: otherwise this test would not test timeouts
            Assert.Equal(dropped, replies.Where(r => r.Outcome == PingOutcome.Timeout).Select(r => r.Sequence));
            Assert.All(replies.Where(r => r.Outcome == PingOutcome.Reply), r => Assert.Matches($@"^PING {r.Sequence} \d+\.\d+$", r.Text));
            Assert.Equal(10, replies.Count);
        }
        finally
        {
            File.Delete(portFile);
        }
    }

    [SkippableFact]
    public async Task Our_server_against_the_textbook_python_client()
    {
        var python = RequirePython();
        await using var server = PingServer.Start(new PingServerOptions { Seed = 11 });

        var result = await ExternalProcess.RunAsync(python, [Script("textbook_client.py"), server.EndPoint.Port.ToString(), "0.5"], Bound);

        Assert.Equal(0, result.ExitCode);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string Kind(string line) => line.Split(' ')[1];
        var replies = lines.Where(l => Kind(l) == "reply").ToArray();
        var timeouts = lines.Count(l => Kind(l) == "timeout");
        Assert.Equal(10, replies.Length + timeouts);
        Assert.Equal(10, server.Counters.Received);
        // Every reply is an echo and every drop a timeout; on a loaded machine an echo may also come late (stale).
        Assert.InRange(replies.Length, 0, server.Counters.Echoed);
        Assert.InRange(server.Counters.Dropped, 0, timeouts);
        Assert.Equal(server.Counters.Echoed - replies.Length, timeouts - server.Counters.Dropped);
        Assert.InRange(server.Counters.Dropped, 1, 9); // seed 11: some of each
        Assert.All(replies, l => Assert.Matches(@"^(\d+) reply PING \1 \d+\.\d+ rtt", l));
    }
}

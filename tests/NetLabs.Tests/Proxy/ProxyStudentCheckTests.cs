using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Proxy;

namespace NetLabs.Tests.Proxy;

/// <summary>The proxy lab's report card against our proxy (all pass), an empty gap (all fail), and the classic 1024-byte proxy.</summary>
public sealed class ProxyStudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Every_check_passes_for_the_librarys_own_proxy()
    {
        var card = await ProxyStudentChecks.RunAsync(null).WaitAsync(Bound);
        Assert.True(card.AllPassed, card.ToString());
        Assert.Equal("report card 04-web-proxy: 5 passed, 0 failed", card.SummaryLine);
    }

    [Fact]
    public async Task An_empty_gap_fails_every_check_without_throwing()
    {
        var card = await ProxyStudentChecks.RunAsync((_, _, _) => throw new NotImplementedException("Fill in handle-client")).WaitAsync(Bound);
        Assert.Equal(5, card.Failed);
        Assert.All(card.Results, r => Assert.False(string.IsNullOrWhiteSpace(r.Hint)));
    }

    [Fact]
    public async Task The_public_solution_that_reads_1024_bytes_and_caches_nothing_fails_the_binary_split_and_cache_checks()
    {
        // The usual public solution: one recv of the request, one recv of 1024 bytes from the origin, text decoding, no cache.
        ProxyClientHandler naive = async (client, _, token) =>
        {
            var buffer = new byte[1024];
            var n = await client.ReceiveAsync(buffer, token);
            var url = new Uri(Encoding.ASCII.GetString(buffer, 0, n).Split(' ')[1]);
            using var origin = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await origin.ConnectAsync(url.Host, url.Port, token);
            await origin.SendAsync(Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.0\r\nHost: {url.Authority}\r\n\r\n"), token);
            var answer = new byte[1024];
            var m = await origin.ReceiveAsync(answer, token);
            await client.SendAsync(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(answer, 0, m)), token);
        };
        var card = await ProxyStudentChecks.RunAsync(naive).WaitAsync(Bound);
        Assert.False(Row(card, "a binary object").Passed, card.ToString());
        Assert.False(Row(card, "the second request").Passed, card.ToString());
        Assert.False(Row(card, "a request that arrives in pieces").Passed, card.ToString());
        Assert.True(Row(card, "an origin's 404").Passed, card.ToString());
    }

    private static CheckResult Row(ReportCard card, string start) => Assert.Single(card.Results, r => r.Name.StartsWith(start, StringComparison.Ordinal));
}

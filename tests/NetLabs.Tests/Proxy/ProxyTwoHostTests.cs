using NetLabs.Tests.Support;
using static NetLabs.Tests.Cli.TwoHostTests;

namespace NetLabs.Tests.Proxy;

/// <summary>
/// <c>netlabs proxy serve</c> in one network namespace, <c>netlabs proxy get</c> in another, as in a classroom: a client
/// the proxy was told to allow gets a miss then a hit; the proxy refuses a client it was not told about.
/// </summary>
public sealed class ProxyTwoHostTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [SkippableFact]
    public async Task A_room_client_allowed_by_cidr_gets_a_miss_then_a_hit_and_others_are_refused()
    {
        await using var hosts = await TwoHosts.CreateAsync();
        var server = hosts.ServerAddress.ToString();
        await using var web = StartIn(hosts.ServerNamespace, "web", "serve", "--bind", server, "--port", "6789", "--root", Path.Combine(RepoPaths.Data, "www"));
        await web.WaitForLineAsync(l => l.Contains($"http://{server}:6789/"), Wait);
        var page = $"http://{server}:6789/HelloWorld.html";

        await using (var proxy = StartIn(hosts.ServerNamespace, "proxy", "serve", "--bind", server, "--port", "8888", "--allow", $"{hosts.ClientAddress}/32"))
        {
            await proxy.WaitForLineAsync(l => l.Contains($"caching proxy at http://{server}:8888/"), Wait);
            var miss = await RunIn(hosts.ClientNamespace, "proxy", "get", page, "--proxy", $"{server}:8888");
            Assert.True(miss.ExitCode == 0, miss + proxy.Output);
            Assert.Contains("X-Cache: MISS", miss.StandardOutput);
            var hit = await RunIn(hosts.ClientNamespace, "proxy", "get", page, "--proxy", $"{server}:8888");
            Assert.Contains("X-Cache: HIT", hit.StandardOutput);
            // The proxy's own lines: the other host's address, the URL, the status, where the answer came from.
            await proxy.WaitForLineAsync(l => l.Contains($"{hosts.ClientAddress}:") && l.Contains($"GET {page} 200 HIT"), Wait);
            // The web server saw the page once, from the proxy.
            Assert.Single(web.Output.Split('\n'), l => l.Contains("\"GET /HelloWorld.html\" 200"));
        }

        await using (var closed = StartIn(hosts.ServerNamespace, "proxy", "serve", "--bind", server, "--port", "8889"))
        {
            await closed.WaitForLineAsync(l => l.Contains("clients: this machine only"), Wait);
            var refused = await RunIn(hosts.ClientNamespace, "proxy", "get", page, "--proxy", $"{server}:8889");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("403 Forbidden", refused.StandardOutput);
            await closed.WaitForLineAsync(l => l.Contains($"{hosts.ClientAddress}:") && l.Contains(" 403 "), Wait);
        }
    }
}

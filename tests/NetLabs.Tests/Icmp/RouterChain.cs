using System.Net;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Icmp;

/// <summary>
/// A small internet on one machine: five network namespaces, client — r1 — r2 — r3 — server, each link a veth pair
/// with its own subnet (10.99.k.0/24 between node k−1 and node k: left .1, right .2), forwarding on in the routers,
/// routes both ways, ICMP error rate limiting off (so back-to-back traces are never thinned). Needs root and iproute2;
/// <see cref="CreateAsync"/> skips with a clear message otherwise. Disposing deletes every namespace (and with them
/// the veth pairs), whatever happened.
/// </summary>
public sealed class RouterChain : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(0, 1000);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(20);

    private RouterChain(string tag) => Namespaces = new[] { "client", "r1", "r2", "r3", "server" }.Select(n => $"nl{n}{tag}").ToArray();

    /// <summary>client, r1, r2, r3, server.</summary>
    public IReadOnlyList<string> Namespaces { get; }
    public string Client => Namespaces[0];
    public string Server => Namespaces[^1];
    public static IPAddress ClientAddress { get; } = IPAddress.Parse("10.99.1.1");
    public static IPAddress ServerAddress { get; } = IPAddress.Parse("10.99.4.2");

    /// <summary>The address each router answers from toward the client (its left side), then the server's: what a trace lists.</summary>
    public static IReadOnlyList<IPAddress> ExpectedHops { get; } = new[] { "10.99.1.2", "10.99.2.2", "10.99.3.2", "10.99.4.2" }.Select(IPAddress.Parse).ToList();

    public static async Task<RouterChain> CreateAsync()
    {
        var ip = ExternalProcess.Require("ip", "iproute2");
        Skip.If(Environment.UserName != "root", "the router chain needs root to create network namespaces (CI runs as root).");
        var chain = new RouterChain($"{Environment.ProcessId % 10000}x{Interlocked.Increment(ref _next) % 1000}");
        try
        {
            foreach (var ns in chain.Namespaces)
            {
                var added = await ExternalProcess.RunAsync(ip, ["netns", "add", ns], Step);
                Skip.If(added.ExitCode != 0 && ns == chain.Client, $"network namespaces are not permitted here: {added.StandardError.Trim()}");
                await chain.RunAsync(ip, ["netns", "add", ns], checkedAlready: added);
                await chain.Ip(ns, "link", "set", "lo", "up");
            }
            for (var k = 1; k < chain.Namespaces.Count; k++)
            {
                string left = chain.Namespaces[k - 1], right = chain.Namespaces[k];
                // Created straight inside the namespaces: no interface name ever appears in the host's namespace.
                await chain.RunAsync(ip, ["link", "add", "name", $"right{k}", "netns", left, "type", "veth", "peer", "name", $"left{k}", "netns", right]);
                await chain.Ip(left, "addr", "add", $"10.99.{k}.1/24", "dev", $"right{k}");
                await chain.Ip(right, "addr", "add", $"10.99.{k}.2/24", "dev", $"left{k}");
                await chain.Ip(left, "link", "set", $"right{k}", "up");
                await chain.Ip(right, "link", "set", $"left{k}", "up");
            }
            await chain.Ip(chain.Client, "route", "add", "default", "via", "10.99.1.2");
            await chain.Ip(chain.Server, "route", "add", "default", "via", "10.99.4.1");
            for (var r = 1; r <= 3; r++)
            {
                var ns = chain.Namespaces[r];
                // Router r sits between subnets r and r+1: subnets further right go via its right neighbour, further left via its left one.
                for (var subnet = 1; subnet <= 4; subnet++)
                {
                    if (subnet > r + 1) await chain.Ip(ns, "route", "add", $"10.99.{subnet}.0/24", "via", $"10.99.{r + 1}.2");
                    if (subnet < r) await chain.Ip(ns, "route", "add", $"10.99.{subnet}.0/24", "via", $"10.99.{r}.1");
                }
                await chain.Sysctl(ns, "net.ipv4.ip_forward=1");
            }
            foreach (var ns in chain.Namespaces) await chain.Sysctl(ns, "net.ipv4.icmp_ratelimit=0");
            return chain;
        }
        catch
        {
            await chain.DisposeAsync();
            throw;
        }
    }

    /// <summary>The command line that runs a program inside one of the chain's namespaces (for ExternalProcess).</summary>
    public static IEnumerable<string> In(string ns, string program, IEnumerable<string> arguments) => ["netns", "exec", ns, program, .. arguments];

    public Task<ProcessResult> RunInAsync(string ns, string program, IEnumerable<string> arguments, TimeSpan timeout) =>
        ExternalProcess.RunAsync("ip", In(ns, program, arguments), timeout);

    /// <summary>The built netlabs command, run inside <paramref name="ns"/>.</summary>
    public Task<ProcessResult> NetlabsAsync(string ns, TimeSpan timeout, params string[] arguments) =>
        RunInAsync(ns, "dotnet", NetlabsTool.Arguments(arguments), timeout);

    public Task Sysctl(string ns, string setting) => RunAsync("ip", In(ns, "sysctl", ["-q", "-w", setting]));

    private Task Ip(string ns, params string[] arguments) => RunAsync("ip", ["-n", ns, .. arguments]);

    private async Task RunAsync(string program, IEnumerable<string> arguments, ProcessResult? checkedAlready = null)
    {
        var result = checkedAlready ?? await ExternalProcess.RunAsync(program, arguments, Step);
        if (result.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {result}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in Namespaces) await ExternalProcess.RunAsync("ip", ["netns", "del", ns], Step);
    }
}

using System.Net;

namespace NetLabs.Tests.Support;

/// <summary>
/// Two hosts on one machine: two network namespaces joined by a veth pair, each with its own address
/// (10.77.N.1 and 10.77.N.2). Needs root and iproute2; <see cref="CreateAsync"/> skips the test with a clear message
/// where that is not permitted. Disposing deletes both namespaces (and with them the veth pair), whatever happened.
/// </summary>
public sealed class TwoHosts : IAsyncDisposable
{
    private static int _next = Random.Shared.Next(1, 200);

    private TwoHosts(string serverNamespace, string clientNamespace, IPAddress serverAddress, IPAddress clientAddress)
    {
        ServerNamespace = serverNamespace;
        ClientNamespace = clientNamespace;
        ServerAddress = serverAddress;
        ClientAddress = clientAddress;
    }

    public string ServerNamespace { get; }
    public string ClientNamespace { get; }
    public IPAddress ServerAddress { get; }
    public IPAddress ClientAddress { get; }

    public static async Task<TwoHosts> CreateAsync()
    {
        var ip = ExternalProcess.Require("ip", "iproute2");
        Skip.If(Environment.UserName != "root", "two-host tests need root to create network namespaces (CI runs as root).");
        var n = Interlocked.Increment(ref _next) % 250 + 1;
        var tag = $"{Environment.ProcessId % 10000}x{n}";
        var hosts = new TwoHosts($"netlabs-s{tag}", $"netlabs-c{tag}", IPAddress.Parse($"10.77.{n}.1"), IPAddress.Parse($"10.77.{n}.2"));
        string[][] steps =
        [
            ["netns", "add", hosts.ServerNamespace],
            ["netns", "add", hosts.ClientNamespace],
            ["link", "add", $"nls{tag}", "type", "veth", "peer", "name", $"nlc{tag}"],
            ["link", "set", $"nls{tag}", "netns", hosts.ServerNamespace],
            ["link", "set", $"nlc{tag}", "netns", hosts.ClientNamespace],
            ["-n", hosts.ServerNamespace, "addr", "add", $"{hosts.ServerAddress}/24", "dev", $"nls{tag}"],
            ["-n", hosts.ClientNamespace, "addr", "add", $"{hosts.ClientAddress}/24", "dev", $"nlc{tag}"],
            ["-n", hosts.ServerNamespace, "link", "set", $"nls{tag}", "up"],
            ["-n", hosts.ClientNamespace, "link", "set", $"nlc{tag}", "up"],
            ["-n", hosts.ServerNamespace, "link", "set", "lo", "up"],
            ["-n", hosts.ClientNamespace, "link", "set", "lo", "up"],
        ];
        foreach (var step in steps)
        {
            var result = await ExternalProcess.RunAsync(ip, step, TimeSpan.FromSeconds(20));
            if (result.ExitCode != 0)
            {
                await hosts.DisposeAsync();
                Skip.If(step[0] == "netns" && step[1] == "add", $"network namespaces are not permitted here: {result.StandardError.Trim()}");
                throw new InvalidOperationException($"ip {string.Join(' ', step)} failed: {result}");
            }
        }
        return hosts;
    }

    /// <summary>The command line that runs <paramref name="arguments"/> inside a namespace (for ExternalProcess).</summary>
    public static IEnumerable<string> InNamespace(string ns, string program, IEnumerable<string> arguments) =>
        ["netns", "exec", ns, program, .. arguments];

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in new[] { ServerNamespace, ClientNamespace })
            await ExternalProcess.RunAsync("ip", ["netns", "del", ns], TimeSpan.FromSeconds(20));
    }
}

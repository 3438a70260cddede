using System.Net;
using NetLabs.Icmp;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Icmp;

/// <summary>
/// The library's <see cref="NamespaceChain"/> (client — r1 — r2 — r3 — server) for tests: skips with a clear message
/// where it cannot be built, and runs programs (ours and Debian's) inside its namespaces with bounded waits.
/// </summary>
public sealed class RouterChain : IAsyncDisposable
{
    private RouterChain(NamespaceChain chain) => Chain = chain;

    public NamespaceChain Chain { get; }
    public IReadOnlyList<string> Namespaces => Chain.Namespaces;
    public string Client => Chain.Client;
    public static IPAddress ServerAddress { get; } = IPAddress.Parse("10.99.4.2");
    public static IReadOnlyList<IPAddress> ExpectedHops { get; } = new[] { "10.99.1.2", "10.99.2.2", "10.99.3.2", "10.99.4.2" }.Select(IPAddress.Parse).ToList();

    public static async Task<RouterChain> CreateAsync()
    {
        ExternalProcess.Require("ip", "iproute2");
        Skip.If(NamespaceChain.WhyNotAvailable() is not null, $"the router chain cannot be built: {NamespaceChain.WhyNotAvailable()} (CI runs as root).");
        var chain = await NamespaceChain.CreateAsync(routers: 3).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(ServerAddress, chain.ServerAddress);
        Assert.Equal(ExpectedHops, chain.ExpectedHops);
        return new RouterChain(chain);
    }

    public Task<ProcessResult> RunInAsync(string ns, string program, IEnumerable<string> arguments, TimeSpan timeout) =>
        ExternalProcess.RunAsync("ip", ["netns", "exec", ns, program, .. arguments], timeout);

    /// <summary>The built netlabs command, run inside <paramref name="ns"/> as a user runs it there.</summary>
    public Task<ProcessResult> NetlabsAsync(string ns, TimeSpan timeout, params string[] arguments) =>
        RunInAsync(ns, "dotnet", NetlabsTool.Arguments(arguments), timeout);

    public Task Sysctl(string ns, string setting) => Chain.SysctlAsync(ns, setting);

    public ValueTask DisposeAsync() => Chain.DisposeAsync();
}

using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Icmp;

/// <summary>Builds one router chain for the class, lazily (so a machine without root skips), and deletes it at the end.</summary>
public sealed class RouterChainFixture : IAsyncLifetime
{
    private readonly Lazy<Task<RouterChain>> _chain = new(RouterChain.CreateAsync);

    public Task<RouterChain> GetAsync() => _chain.Value;

    public Task InitializeAsync() => Task.CompletedTask;

    // xunit 2 calls IAsyncLifetime.DisposeAsync on class fixtures (not IAsyncDisposable).
    public async Task DisposeAsync()
    {
        if (_chain.IsValueCreated && _chain.Value.IsCompletedSuccessfully) await (await _chain.Value).DisposeAsync();
    }
}

/// <summary>
/// Labs 5 and 6 across a real chain of routers: client — r1 — r2 — r3 — server, each a network namespace. Our
/// commands run inside the client namespace exactly as a user runs them, next to Debian's traceroute, tracepath and
/// ping on the same chain.
/// </summary>
public sealed class RouterChainTests(RouterChainFixture fixture) : IClassFixture<RouterChainFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string Server = RouterChain.ServerAddress.ToString();

    private static List<string?> OurHops(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StandardOutput);
        Assert.True(json.RootElement.GetProperty("reached").GetBoolean(), result.StandardOutput);
        return json.RootElement.GetProperty("hops").EnumerateArray()
            .Select(h => h.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()).FirstOrDefault()).ToList();
    }

    private static List<string?> ExpectedHops => RouterChain.ExpectedHops.Select(a => (string?)a.ToString()).ToList();

    /// <summary>The first address of each hop line of Debian traceroute -n ("*" hops as null).</summary>
    private static List<string?> TracerouteHops(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput.Split('\n').Select(l => Regex.Match(l, @"^\s*(\d+)\s+(.*)$")).Where(m => m.Success)
            .Select(m => Regex.Match(m.Groups[2].Value, @"\d+\.\d+\.\d+\.\d+") is { Success: true } a ? a.Value : null).ToList();
    }

    [SkippableTheory]
    [InlineData("--icmp")]
    [InlineData("--udp")]
    public async Task Our_traceroute_lists_the_three_routers_and_the_server_in_order(string kind)
    {
        var chain = await fixture.GetAsync();
        var ours = await chain.NetlabsAsync(chain.Client, Wait, "traceroute", Server, kind, "--wait", "1s", "--json");
        Assert.Equal(ExpectedHops, OurHops(ours));
        using var json = JsonDocument.Parse(ours.StandardOutput);
        var hops = json.RootElement.GetProperty("hops").EnumerateArray().ToList();
        Assert.All(hops.Take(3), h => Assert.All(h.GetProperty("probes").EnumerateArray(), p => Assert.Equal("TimeExceeded", p.GetProperty("status").GetString())));
        Assert.All(hops[3].GetProperty("probes").EnumerateArray(), p => Assert.Equal(kind == "--icmp" ? "EchoReply" : "PortUnreachable", p.GetProperty("status").GetString()));
        Assert.Equal("raw", json.RootElement.GetProperty("path").GetString());
    }

    [SkippableFact]
    public async Task Debian_traceroute_and_tracepath_see_the_same_hops_as_ours()
    {
        var chain = await fixture.GetAsync();
        var traceroute = ExternalProcess.Require("traceroute", "traceroute");
        var tracepath = ExternalProcess.Require("tracepath", "iputils-tracepath");
        foreach (var (ourKind, theirFlags) in new[] { ("--icmp", new[] { "-I" }), ("--udp", Array.Empty<string>()) })
        {
            var ours = OurHops(await chain.NetlabsAsync(chain.Client, Wait, "traceroute", Server, ourKind, "--wait", "1s", "--json"));
            var theirs = TracerouteHops(await chain.RunInAsync(chain.Client, traceroute, ["-n", .. theirFlags, "-w", "1", "-q", "3", Server], Wait));
            Assert.Equal(theirs, ours);
        }
        var path = await chain.RunInAsync(chain.Client, tracepath, ["-n", Server], Wait);
        Assert.True(path.ExitCode == 0, path.ToString());
        var byTtl = path.StandardOutput.Split('\n').Select(l => Regex.Match(l, @"^\s*(\d+):\s+(\d+\.\d+\.\d+\.\d+)")).Where(m => m.Success)
            .GroupBy(m => int.Parse(m.Groups[1].Value)).OrderBy(g => g.Key).Select(g => (string?)g.First().Groups[2].Value).ToList();
        Assert.Equal(ExpectedHops, byTtl);
        Assert.Contains("reached", path.StandardOutput);
    }

    [SkippableFact]
    public async Task A_router_that_drops_its_ICMP_errors_shows_as_stars_and_the_trace_goes_on()
    {
        var chain = await fixture.GetAsync();
        ExternalProcess.Require("nft", "nftables");
        await chain.Chain.SilenceRouterAsync(2);
        try
        {
            var text = await chain.NetlabsAsync(chain.Client, Wait, "traceroute", Server, "--wait", "300ms");
            Assert.True(text.ExitCode == 0, text.ToString());
            Assert.Matches(@"\n 2  \*  \*  \*\n", text.StandardOutput);
            Assert.Matches(@"\n 3  10\.99\.3\.2  [0-9.]+ ms", text.StandardOutput);
            var ours = OurHops(await chain.NetlabsAsync(chain.Client, Wait, "traceroute", Server, "--udp", "--wait", "300ms", "--json"));
            Assert.Equal(["10.99.1.2", null, "10.99.3.2", "10.99.4.2"], ours);
            var theirs = TracerouteHops(await chain.RunInAsync(chain.Client, ExternalProcess.Require("traceroute", "traceroute"), ["-n", "-w", "0.3", Server], Wait));
            Assert.Equal(theirs, ours);
        }
        finally
        {
            await chain.Chain.UnsilenceRouterAsync(2);
        }
    }

    [SkippableFact]
    public async Task In_process_the_library_traces_from_the_client_namespace()
    {
        var chain = await fixture.GetAsync();
        // The sockets are made inside the client namespace (setns on a short-lived thread) and used from this process.
        using var prober = chain.Chain.OpenClientProber(NetLabs.Icmp.ProbeKind.Udp);
        var trace = await NetLabs.Icmp.Traceroute.RunAsync(prober, RouterChain.ServerAddress, new NetLabs.Icmp.TracerouteOptions { Kind = NetLabs.Icmp.ProbeKind.Udp, ProbeTimeout = TimeSpan.FromSeconds(1) })
            .WaitAsync(Wait);
        Assert.True(trace.Reached);
        Assert.Equal(RouterChain.ExpectedHops, trace.Hops.Select(h => Assert.Single(h.Addresses)));
        using var pinger = chain.Chain.OpenClientProber();
        var run = await NetLabs.Icmp.IcmpPinger.RunAsync(pinger, RouterChain.ServerAddress, new NetLabs.Icmp.IcmpPingOptions { Count = 3, Interval = TimeSpan.FromMilliseconds(50) }).WaitAsync(Wait);
        Assert.Equal(3, run.Statistics.Received);
        Assert.All(run.Answers, a => Assert.Equal(61, a.ReplyTtl));
    }

    [SkippableFact]
    public async Task Our_ping_agrees_with_iputils_ping_across_the_routers()
    {
        var chain = await fixture.GetAsync();
        var ping = ExternalProcess.Require("ping", "iputils-ping");
        var theirs = await chain.RunInAsync(chain.Client, ping, ["-n", "-c", "5", "-i", "0.2", "-W", "2", Server], Wait);
        Assert.True(theirs.ExitCode == 0, theirs.ToString());
        Assert.Contains("5 packets transmitted, 5 received", theirs.StandardOutput);
        Assert.Matches(@"ttl=61 ", theirs.StandardOutput); // three routers: 64 − 3
        var theirAvg = double.Parse(Regex.Match(theirs.StandardOutput, @"= [0-9.]+/([0-9.]+)/").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        var ours = await chain.NetlabsAsync(chain.Client, Wait, "icmp", "ping", Server, "-c", "5", "-i", "200ms", "-W", "2s", "--json");
        Assert.True(ours.ExitCode == 0, ours.ToString());
        var lines = ours.StandardOutput.Trim().Split('\n');
        var answers = lines[..^1].Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(answers, a => Assert.Equal(61, a.GetProperty("replyTtl").GetInt32()));
        using var summary = JsonDocument.Parse(lines[^1]);
        var s = summary.RootElement.GetProperty("summary");
        Assert.Equal(5, s.GetProperty("received").GetInt32());
        Assert.Equal("raw", s.GetProperty("path").GetString());
        // Same order of magnitude: both well under a second on veth pairs; ours (a managed runtime on a shared machine)
        // may be slower, but its average stays within 100 × theirs plus 50 ms of scheduling. (Percentiles are not
        // given for 5 replies: too few to mean anything.)
        var ourAvg = s.GetProperty("avgMs").GetDouble();
        Assert.True(ourAvg < 100 * theirAvg + 50, $"ours {ourAvg} ms, iputils {theirAvg} ms");
    }

    [SkippableFact]
    public async Task The_unprivileged_datagram_socket_works_where_ping_group_range_allows_it()
    {
        var chain = await fixture.GetAsync();
        // ping_group_range belongs to each network namespace: enabled in the client's only.
        await chain.Sysctl(chain.Client, "net.ipv4.ping_group_range=0 2147483647");
        try
        {
            var ours = await chain.NetlabsAsync(chain.Client, Wait, "icmp", "ping", Server, "-c", "3", "-i", "100ms", "--path", "datagram", "--json");
            Assert.True(ours.ExitCode == 0, ours.ToString());
            using var summary = JsonDocument.Parse(ours.StandardOutput.Trim().Split('\n')[^1]);
            Assert.Equal("datagram", summary.RootElement.GetProperty("summary").GetProperty("path").GetString());
            Assert.Equal(3, summary.RootElement.GetProperty("summary").GetProperty("received").GetInt32());
        }
        finally
        {
            await chain.Sysctl(chain.Client, "net.ipv4.ping_group_range=1 0");
        }
        var refused = await chain.NetlabsAsync(chain.Client, Wait, "icmp", "ping", Server, "-c", "1", "--path", "datagram");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("", refused.StandardOutput);
        Assert.Matches(@"^netlabs: No ICMP datagram socket .*ping_group_range \(now ""1 0""\).*sysctl -w", refused.StandardError.Trim());
        Assert.DoesNotContain("\n", refused.StandardError.Trim());
    }

    /// <summary>netlabs run as an ordinary user (nobody) in the client namespace: no raw socket, so another path, and the notes saying why.</summary>
    private static Task<ProcessResult> AsNobody(RouterChain chain, params string[] arguments) =>
        chain.RunInAsync(chain.Client, ExternalProcess.Require("setpriv", "util-linux"),
            ["--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", "dotnet", .. NetlabsTool.Arguments(arguments)], Wait);

    [SkippableFact]
    public async Task An_ordinary_user_gets_the_best_permitted_path_and_is_told_why()
    {
        var chain = await fixture.GetAsync();
        var fallback = await AsNobody(chain, "icmp", "ping", Server, "-c", "2", "-i", "100ms");
        Assert.True(fallback.ExitCode == 0, fallback.ToString());
        Assert.Contains("No raw socket", fallback.StandardOutput);
        Assert.Contains("ping_group_range (now \"1 0\")", fallback.StandardOutput);
        Assert.Contains("operating system's ping", fallback.StandardOutput);
        Assert.Contains("2 packets transmitted, 2 received", fallback.StandardOutput);

        var udp = await AsNobody(chain, "traceroute", Server, "--udp");
        Assert.Equal(1, udp.ExitCode);
        Assert.Matches(@"^netlabs: No raw socket .*an ICMP trace \(--icmp\) runs without\.$", udp.StandardError.Trim());

        await chain.Sysctl(chain.Client, "net.ipv4.ping_group_range=0 2147483647");
        try
        {
            var datagram = await AsNobody(chain, "icmp", "ping", Server, "-c", "2", "-i", "100ms");
            Assert.True(datagram.ExitCode == 0, datagram.ToString());
            Assert.Contains("ICMP datagram socket", datagram.StandardOutput);
            Assert.Contains("2 packets transmitted, 2 received", datagram.StandardOutput);
        }
        finally
        {
            await chain.Sysctl(chain.Client, "net.ipv4.ping_group_range=1 0");
        }

        var trace = await AsNobody(chain, "traceroute", Server, "--wait", "1s", "--json");
        Assert.Equal(ExpectedHops, OurHops(trace));
        Assert.Contains("\"path\":\"system\"", trace.StandardOutput);
    }
}

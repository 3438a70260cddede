using System.Net;
using NetLabs.Icmp;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Icmp;

/// <summary>The pinger and traceroute on loopback, through every sending path this machine permits.</summary>
public sealed class IcmpLoopbackTests
{
    private static readonly IcmpPingOptions Quick = new() { Count = 3, Interval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(2) };

    private static void RequireRoot() => Skip.If(Environment.UserName != "root", "raw sockets need root (CI runs as root).");

    [SkippableFact]
    public async Task Raw_socket_ping_of_loopback_gets_every_reply()
    {
        RequireRoot();
        var run = await IcmpPinger.RunAsync(IPAddress.Loopback, Quick with { Path = IcmpSendPath.RawSocket }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(IcmpSendPath.RawSocket, run.Path);
        Assert.Equal(3, run.Statistics.Received);
        Assert.Equal([1, 2, 3], run.Answers.Select(a => (int)a.Request.Sequence));
        Assert.All(run.Answers, a => Assert.Equal(64, a.ReplyTtl));
        Assert.All(run.Answers, a => Assert.Equal(64, a.Bytes));
        Assert.Contains("3 packets transmitted, 3 received, 0% packet loss", run.ToString());
        Assert.Matches(@"64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=64 time=[0-9.]+ ms", run.ToString());
        // On loopback the raw socket also sees our own requests: seen, never counted.
        Assert.True(run.Ignored >= 3, $"ignored {run.Ignored}");
    }

    [SkippableFact]
    public async Task The_system_ping_fallback_gives_the_same_statistics()
    {
        var run = await IcmpPinger.RunAsync(IPAddress.Loopback, Quick with { Path = IcmpSendPath.SystemPing }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(IcmpSendPath.SystemPing, run.Path);
        Assert.Equal(3, run.Statistics.Received);
        Assert.NotNull(run.Statistics.Avg);
    }

    [SkippableFact]
    public void A_forbidden_datagram_socket_says_how_to_enable_it()
    {
        Skip.If(!OperatingSystem.IsLinux() || Probers.PingGroupRange() != "1 0", "ICMP datagram sockets are permitted here.");
        var refused = Assert.Throws<IcmpPathUnavailableException>(() => Probers.Open(ProbeKind.Icmp, IcmpSendPath.DatagramSocket));
        Assert.Contains("ping_group_range", refused.Message);
        Assert.Contains("sysctl -w", refused.Message);
    }

    [SkippableFact]
    public async Task Other_processes_pings_are_never_counted_as_ours()
    {
        RequireRoot();
        var ping = ExternalProcess.Require("ping", "iputils-ping");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // iputils ping floods loopback with its own echo requests and replies while ours runs.
        var theirs = ExternalProcess.RunAsync(ping, ["-n", "-c", "200", "-i", "0.01", "127.0.0.1"], TimeSpan.FromSeconds(20), cancellationToken: stop.Token);
        await Task.Delay(100);
        var run = await IcmpPinger.RunAsync(IPAddress.Loopback, Quick with { Count = 5, Path = IcmpSendPath.RawSocket }, stop.Token).WaitAsync(TimeSpan.FromSeconds(20));
        var result = await theirs;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(5, run.Statistics.Sent);
        Assert.Equal(5, run.Statistics.Received);
        Assert.Equal(0, run.Statistics.Duplicates);
        // Their requests and replies reached our raw socket and were set aside (ours alone are 5 requests).
        Assert.True(run.Ignored > 5, $"ignored {run.Ignored}");
    }

    [SkippableTheory]
    [InlineData(ProbeKind.Icmp)]
    [InlineData(ProbeKind.Udp)]
    public async Task Traceroute_of_loopback_ends_at_the_first_hop(ProbeKind kind)
    {
        RequireRoot();
        var result = await Traceroute.RunAsync(IPAddress.Loopback, new TracerouteOptions { Kind = kind, MaxHops = 5 }).WaitAsync(TimeSpan.FromSeconds(20));
        var hop = Assert.Single(result.Hops);
        Assert.True(result.Reached);
        Assert.Equal(IPAddress.Loopback, Assert.Single(hop.Addresses));
        Assert.All(hop.Probes, p => Assert.Equal(kind == ProbeKind.Icmp ? ProbeStatus.EchoReply : ProbeStatus.PortUnreachable, p.Status));
        Assert.Matches(@"^ 1  127\.0\.0\.1  [0-9.]+ ms  [0-9.]+ ms  [0-9.]+ ms$", hop.ToString());
    }

    [Fact]
    public async Task A_student_loop_replaces_ours_and_the_result_is_built_from_its_hops()
    {
        static async IAsyncEnumerable<TracerouteHop> OneHop(Prober prober, IPAddress destination, TracerouteOptions options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            var probe = await prober.ProbeAsync(new ProbeRequest(destination, 1, 0, options.ProbeTimeout), ct);
            yield return new TracerouteHop(1, [probe], new Dictionary<IPAddress, string>());
        }
        var result = await Traceroute.RunAsync(IPAddress.Loopback, new TracerouteOptions { Loop = OneHop, Path = IcmpSendPath.SystemPing }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(IcmpSendPath.SystemPing, result.Path);
        Assert.True(result.Reached);
        Assert.Single(Assert.Single(result.Hops).Probes);
    }
}

/// <summary>The commands' one-line errors and the time-bounded reverse DNS.</summary>
public sealed class IcmpCommandLineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("netlabs: ::1 is not an IPv4 address", "icmp", "ping", "::1")]
    [InlineData("netlabs: choose one of --udp and --icmp.", "traceroute", "127.0.0.1", "--udp", "--icmp")]
    [InlineData("netlabs: The maximum TTL is from the first TTL to 255.", "traceroute", "127.0.0.1", "-m", "0")]
    [InlineData("netlabs: --path 'foo' is not one of raw, datagram, system.", "icmp", "ping", "127.0.0.1", "--path", "foo")]
    [InlineData("netlabs: Send at least one echo request.", "icmp", "ping", "127.0.0.1", "-c", "0")]
    public async Task Bad_input_is_one_line_and_nothing_is_sent(string error, params string[] arguments)
    {
        var result = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("", result.StandardOutput);
        Assert.StartsWith(error, result.StandardError.Trim());
        Assert.DoesNotContain("\n", result.StandardError.Trim());
    }

    [Fact]
    public async Task Reverse_DNS_names_loopback_from_the_hosts_file()
    {
        // Only 127.0.0.1, which /etc/hosts names: a test never asks a DNS server outside this machine.
        var names = await ReverseDns.LookUpAsync([IPAddress.Loopback], TimeSpan.FromSeconds(2), CancellationToken.None).WaitAsync(Wait);
        Assert.Contains(IPAddress.Loopback, names.Keys);
    }
}

using System.Net;
using NetLabs.Icmp;

namespace NetLabs.Tests.Icmp;

/// <summary>The traceroute chart as a student reads it: whole hops on x, every RTT readable, silent hops visible.</summary>
public class TracerouteChartTests
{
    private static readonly IPAddress Server = IPAddress.Parse("10.99.4.2");

    private static TracerouteHop Hop(int ttl, params double?[] rttsMs) => new(ttl,
        rttsMs.Select((ms, i) => ms is { } value
            ? new ProbeAnswer(new ProbeRequest(Server, ttl, (ushort)(ttl * 3 + i), TimeSpan.FromSeconds(1)), ProbeStatus.TimeExceeded, IPAddress.Parse($"10.99.{ttl}.1"),
                TimeSpan.FromMilliseconds(value), 64, 11, 0, 36)
            : ProbeAnswer.TimedOut(new ProbeRequest(Server, ttl, (ushort)(ttl * 3 + i), TimeSpan.FromSeconds(1)))).ToList(),
        new Dictionary<IPAddress, string>());

    private static TracerouteResult Result(params TracerouteHop[] hops) =>
        new(Server, new TracerouteOptions(), IcmpSendPath.RawSocket, "raw socket", [], hops);

    [Fact]
    public void Hops_are_whole_numbers_and_a_slow_first_probe_does_not_flatten_the_others()
    {
        // The first probe pays for the first call (15 ms); the routers answer in tens of microseconds.
        var chart = TracerouteCharts.RttPerHop(Result(Hop(1, 15.8, 0.05, 0.04), Hop(2, null, null, null), Hop(3, 0.03, 0.05, 0.04)));
        Assert.True(chart.XIntegers);
        Assert.True(chart.YLog);
        Assert.Equal(("hop (TTL)", "RTT (ms, log scale)"), (chart.XTitle, chart.YTitle));
        var silent = Assert.Single(chart.Traces, t => t.Name!.StartsWith("no answer (*)"));
        Assert.Equal([2.0, 2, 2], silent.X);
        Assert.All(silent.Y!, y => Assert.InRange(y, 1e-9, 0.03 - 1e-9)); // under every answer, and above 0 (a log axis has no 0)
    }

    [Fact]
    public void Rtts_of_zero_from_the_systems_ping_keep_a_linear_axis_with_silent_probes_at_zero()
    {
        var chart = TracerouteCharts.RttPerHop(Result(Hop(1, 0, 0, 1), Hop(2, null, 2, 1)));
        Assert.False(chart.YLog);
        Assert.Equal("RTT (ms)", chart.YTitle);
        Assert.Equal([0.0], Assert.Single(chart.Traces, t => t.Name!.StartsWith("no answer (*)")).Y);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using NetLabs.Icmp;

namespace NetLabs.Tests.Charts;

/// <summary>A hop number is a whole number: the traceroute chart's axis ticks 1, 2, 3, never 1.5 (as a student read it).</summary>
public sealed class HopAxisTests
{
    [Fact]
    public void Traceroute_hop_axis_ticks_whole_numbers()
    {
        var destination = IPAddress.Parse("10.99.4.2");
        var hops = Enumerable.Range(1, 4).Select(ttl => new TracerouteHop(ttl,
            [new ProbeAnswer(new ProbeRequest(destination, ttl, (ushort)ttl, TimeSpan.FromSeconds(1)), ttl == 4 ? ProbeStatus.EchoReply : ProbeStatus.TimeExceeded,
                IPAddress.Parse($"10.99.{ttl}.2"), TimeSpan.FromMilliseconds(ttl), 64, 11, 0, 64)],
            new Dictionary<IPAddress, string>())).ToList();
        var result = new TracerouteResult(destination, new TracerouteOptions(), default, "test path", [], hops);
        var figure = JsonNode.Parse(TracerouteCharts.RttPerHop(result).ToFigureJson())!;
        Assert.Equal(1, (double)figure["layout"]!["xaxis"]!["dtick"]!);
        Assert.Equal("hop (TTL)", (string?)figure["layout"]!["xaxis"]!["title"]!["text"]);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using NetLabs.Charts;
using NetLabs.Ping;

namespace NetLabs.Tests.Ping;

/// <summary>The lab's charts read as a student reads them: legends, axes, guides, markers (issue 12, section 4).</summary>
public sealed class PingChartTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Loopback, 1);

    private static PingRun Run(int replies, string name = "run") => new(name,
        Enumerable.Range(1, replies).Select(i => new PingReply(i, PingOutcome.Reply, TimeSpan.FromMilliseconds(1 + i % 7), $"PING {i}", Server)).ToList());

    private static JsonObject Figure(Chart chart) => JsonNode.Parse(chart.ToFigureJson())!.AsObject();

    private static List<JsonObject> Data(JsonObject figure) => figure["data"]!.AsArray().Select(d => d!.AsObject()).ToList();

    private static List<string?> Legend(JsonObject figure) =>
        Data(figure).Where(d => (bool?)d["showlegend"] != false).Select(d => (string?)d["name"]).ToList();

    [Fact]
    public void Loss_chart_names_its_band_once_names_the_diagonal_and_stops_where_the_data_stop()
    {
        var points = new[] { 0.0, 0.25, 0.5 }.Select(p => (p, Run(20))).ToList();
        var figure = Figure(PingCharts.LossVsConfigured(points, 200));

        Assert.Equal(["95 % of runs of 200 pings land here", "measured = configured", "measured"], Legend(figure));
        Assert.DoesNotContain(Data(figure), d => d["legendgrouptitle"] is not null);
        Assert.Equal(50, Data(figure).SelectMany(d => d["x"]!.AsArray()).Max(x => (double)x!), 9);
        Assert.Equal("dash", (string?)Data(figure).Single(d => (string?)d["name"] == "measured = configured")["line"]!["dash"]);
    }

    [Fact]
    public void Sequence_axes_tick_whole_numbers_and_many_replies_are_markers_only()
    {
        var few = Figure(PingCharts.RttBySequence(Run(4)));
        Assert.Equal(1, (double)few["layout"]!["xaxis"]!["dtick"]!);
        Assert.Equal("lines+markers", (string?)Data(few)[0]["mode"]);

        var many = Figure(PingCharts.RttBySequence(Run(1000)));
        Assert.Equal(200, (double)many["layout"]!["xaxis"]!["dtick"]!);
        Assert.Equal("markers", (string?)Data(many)[0]["mode"]);
    }

    [Fact]
    public void Cdf_draws_the_p50_and_p99_guides_its_text_refers_to_only_with_enough_replies()
    {
        var figure = Figure(PingCharts.Cdf(Run(1000)));
        var guides = Data(figure).Where(d => (string?)d["line"]?["dash"] == "dot").ToList();
        Assert.Equal([0.5, 0.99], guides.Select(g => (double)g["y"]![0]!));

        Assert.Single(Data(Figure(PingCharts.Cdf(Run(4)))));   // 4 replies: no percentiles, no guides
    }

    [Fact]
    public void Heartbeat_timeline_draws_started_as_a_ring_over_the_first_received()
    {
        var key = new HeartbeatClientKey(Server, "h");
        HeartbeatEvent[] events =
        [
            new(TimeSpan.FromSeconds(1), HeartbeatEventKind.Started, key, 1, TimeSpan.FromMilliseconds(1)),
            new(TimeSpan.FromSeconds(1), HeartbeatEventKind.Received, key, 1, TimeSpan.FromMilliseconds(1)),
            new(TimeSpan.FromSeconds(2), HeartbeatEventKind.Received, key, 2, TimeSpan.FromMilliseconds(1)),
        ];
        var data = Data(Figure(PingCharts.HeartbeatTimeline(events)));

        Assert.Equal(["Received", "Started"], data.Select(d => (string?)d["name"]));   // drawn last: on top
        Assert.Equal("circle-open", (string?)data[1]["marker"]!["symbol"]);
        Assert.True((int)data[1]["marker"]!["size"]! > 6, "larger than the default marker it surrounds");
    }
}

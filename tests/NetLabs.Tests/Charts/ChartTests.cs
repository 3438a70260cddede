using System.Text.Json.Nodes;
using NetLabs.Charts;

namespace NetLabs.Tests.Charts;

public sealed class ChartTests
{
    [Fact]
    public void Plug_in_runs_with_its_own_FSharp_Core_10_1_beside_the_host()
    {
        var renderer = ChartRenderer.Shared;
        Assert.Equal(new Version(10, 1, 0, 0), renderer.PluginFSharpCoreVersion);
        // The plug-in's assemblies stay in their own load context, never in the default one.
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(),
            a => a.GetName().Name == "Plotly.NET" && System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(a) == System.Runtime.Loader.AssemblyLoadContext.Default);
    }

    [Fact]
    public void Figure_json_holds_the_traces_and_titles()
    {
        var chart = new Chart("RTT", Trace.Histogram("run 1", [1, 2, 2, 3]), Trace.Box("run 2", [4, 5, 6]))
        {
            XTitle = "ms", YTitle = "pings", BarMode = "overlay", Height = 300,
        };
        var figure = JsonNode.Parse(chart.ToFigureJson())!;
        var data = figure["data"]!.AsArray();
        Assert.Equal(["histogram", "box"], data.Select(t => (string?)t!["type"]));
        Assert.Equal([1.0, 2, 2, 3], data[0]!["x"]!.AsArray().Select(v => (double)v!));
        Assert.Equal("RTT", (string?)figure["layout"]!["title"]!["text"]);
        Assert.Equal("ms", (string?)figure["layout"]!["xaxis"]!["title"]!["text"]);
        Assert.Equal("pings", (string?)figure["layout"]!["yaxis"]!["title"]!["text"]);
        Assert.Equal("overlay", (string?)figure["layout"]!["barmode"]);
        Assert.Equal(300, (int)figure["layout"]!["height"]!);
        Assert.Null(figure["layout"]!["width"]); // fills the notebook's width instead of Plotly.NET's fixed 600 px
    }

    [Fact]
    public void Bars_take_category_labels_and_bands_take_bounds()
    {
        var bars = JsonNode.Parse(new Chart("done", Trace.Bars("sequential", ["c1", "c2"], [1.5, 3])).ToFigureJson())!["data"]![0]!;
        Assert.Equal("bar", (string?)bars["type"]);
        Assert.Equal(["c1", "c2"], bars["x"]!.AsArray().Select(v => (string?)v));
        var band = JsonNode.Parse(new Chart("loss", Trace.Band("95 %", [0.1, 0.2], [10, 20], [8, 17], [12, 23])).ToFigureJson())!["data"]!.AsArray();
        Assert.True(band.Count >= 3, "a band is drawn as the middle line plus its two edges");
    }

    [Fact]
    public void Html_draws_with_the_page_plotly_and_escapes_script_endings()
    {
        string html;
        lock (PlotlyPage.Lock)
        {
            PlotlyJs.ForgetPage();
            _ = PlotlyJs.LoaderForFirstChart();   // the page has plotly.js already: this is the chart's own markup
            html = new Chart("</script><b>x", Trace.Lines("a", [1, 2], [3, 4])).ToHtml();
        }
        Assert.DoesNotMatch("<script[^>]*\\ssrc=", html);
        Assert.Contains("window.Plotly.newPlot", html);
        Assert.Contains("netlabsPlotlyQueue", html);
        Assert.DoesNotContain("</script><b>", html);
        Assert.DoesNotContain("cdn.plot.ly", html);
    }

    [Fact]
    public void Plotly_js_is_the_embedded_cartesian_bundle_with_every_trace_type_the_charts_use()
    {
        Assert.Equal("2.30.1", PlotlyJs.Version);
        Assert.InRange(PlotlyJs.Source.Length, 1_000_000, 1_400_000);
        // Trace kinds "lines", "markers", "lines+markers" and "band" are scatter traces in the figure.
        foreach (var type in new[] { "scatter", "bar", "box", "histogram" })
            Assert.Contains($"moduleType:\"trace\",name:\"{type}\"", PlotlyJs.Source);
        var figureTypes = new[]
        {
            Trace.Histogram("h", [1, 2]), Trace.Bars("b", ["x"], [1]), Trace.Box("x", [1, 2]), Trace.Lines("l", [1], [1]),
            Trace.Markers("m", [1], [1]), Trace.LinesAndMarkers("lm", [1], [1]), Trace.Band("band", [1, 2], [1, 2], [0, 1], [2, 3]),
        }.SelectMany(t => JsonNode.Parse(new Chart("t", t).ToFigureJson())!["data"]!.AsArray().Select(d => (string?)d!["type"])).Distinct();
        Assert.All(figureTypes, type => Assert.Contains($"moduleType:\"trace\",name:\"{type}\"", PlotlyJs.Source));
    }

    [Fact]
    public void Only_the_first_chart_of_a_page_carries_plotly_js_and_a_new_page_starts_over()
    {
        lock (PlotlyPage.Lock)
        {
            PlotlyJs.ForgetPage();
            var first = new Chart("first", Trace.Lines("a", [1, 2], [3, 4])).ToHtml();
            var second = new Chart("second", Trace.Lines("a", [1, 2], [3, 4])).ToHtml();
            Assert.Contains(PlotlyJs.Version, first);
            Assert.True(first.Length > 1_000_000);
            Assert.True(second.Length < 10_000, $"second chart is {second.Length} characters");
            Assert.DoesNotContain("window.define = undefined", second);
            PlotlyJs.ForgetPage();
            Assert.True(new Chart("third", Trace.Lines("a", [1, 2], [3, 4])).ToHtml().Length > 1_000_000);
        }
    }

    [Fact]
    public void Figures_carry_six_significant_digits()
    {
        var x = JsonNode.Parse(new Chart("rtt", Trace.Histogram("r", [0.12345678901234, 1234.5678901, 2])).ToFigureJson())!["data"]![0]!["x"]!;
        Assert.Equal([0.123457, 1234.57, 2], x.AsArray().Select(v => (double)v!));
    }

    [Fact]
    public void Figures_are_written_short_numbers_and_only_the_template_parts_they_use()
    {
        var json = new Chart("seq", Trace.Markers("rtt", [1, 2, 3], [0.5, 1, 1.5])).ToFigureJson();
        Assert.Contains("\"x\":[1,2,3]", json);
        var template = JsonNode.Parse(json)!["layout"]!["template"]!;
        Assert.Equal(["scatter"], template["data"]!.AsObject().Select(d => d.Key));
        Assert.NotNull(template["layout"]!["xaxis"]);   // the look of 2-D axes stays
        Assert.Null(template["layout"]!["scene"]);       // 3-D defaults go
        Assert.True(json.Length < 3_000, $"a three-point chart is {json.Length} characters");
    }

    [Fact]
    public void A_chart_needs_a_trace_and_unknown_kinds_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new Chart("empty"));
        var odd = new Chart("odd", new Trace { Kind = "pie3d", Y = [1] });
        Assert.Throws<ArgumentException>(odd.ToFigureJson);
    }

    [Fact]
    public void A_missing_plug_in_gives_a_clear_error()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ChartRenderer.Load("/nonexistent/plotly/NetLabs.Charts.Plotly.dll"));
        Assert.Contains("dotnet build", error.Message);
    }
}

/// <summary>Tests that draw charts take turns: "first chart of the page" is process-wide state.</summary>
internal static class PlotlyPage
{
    public static readonly object Lock = new();
}

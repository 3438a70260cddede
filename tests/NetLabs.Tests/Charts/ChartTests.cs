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
        var html = new Chart("</script><b>x", Trace.Lines("a", [1, 2], [3, 4])).ToHtml();
        Assert.Contains("window.Plotly.newPlot", html);
        Assert.Contains("netlabsPlotlyQueue", html);
        Assert.DoesNotContain("</script><b>", html);
        Assert.DoesNotContain("cdn.plot.ly", html);
    }

    [Fact]
    public void Plotly_js_is_bundled_for_offline_use()
    {
        Assert.Equal("2.28.0", ChartRenderer.Shared.PlotlyJsVersion());
        Assert.StartsWith("/**", ChartRenderer.Shared.PlotlyJs().TrimStart());
        Assert.True(ChartRenderer.Shared.PlotlyJs().Length > 1_000_000);
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

using System.Text.Json;
using System.Text.Json.Nodes;
using Plotly.NET;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace NetLabs.Charts.Plotly;

/// <summary>
/// Entry points called by NetLabs.Lib across the AssemblyLoadContext boundary. Only BCL types cross it:
/// a chart specification as JSON goes in, Plotly figure JSON (or plotly.js itself) comes out.
/// </summary>
public static class PlotlyRenderer
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Builds the chart with Plotly.NET and returns its figure JSON ({"data":[…],"layout":{…},"config":{…}}).</summary>
    public static string FigureJson(string specJson)
    {
        var spec = JsonSerializer.Deserialize<ChartSpec>(specJson, Json)
                   ?? throw new ArgumentException("Empty chart specification.", nameof(specJson));
        var traces = spec.Traces.Select(BuildTrace).ToList();
        var chart = traces.Count == 1 ? traces[0] : CSharpChart.Combine(traces);
        // Plotly.NET builds the traces; the few layout settings we use are set on its figure JSON directly,
        // which keeps this side free of F# option plumbing.
        var figure = JsonNode.Parse(GenericChart.toFigureJson(chart))!.AsObject();
        var layout = figure["layout"] as JsonObject ?? new JsonObject();
        figure["layout"] = layout;
        layout["title"] = new JsonObject { ["text"] = spec.Title };
        layout["xaxis"] = Axis(layout["xaxis"], spec.XTitle);
        layout["yaxis"] = Axis(layout["yaxis"], spec.YTitle);
        layout["height"] = spec.Height;
        // Plotly.NET fixes the width; without it the chart fills the notebook's output area (autosize, responsive).
        layout.Remove("width");
        layout["autosize"] = true;
        if (spec.BarMode is { } barMode) layout["barmode"] = barMode;
        if (spec.YLog) LogAxis(layout["yaxis"]!.AsObject(), spec.Traces.SelectMany(t => t.Y ?? []));
        return figure.ToJsonString();
    }

    /// <summary>The plotly.js bundled with Plotly.NET (the version its figures are written for).</summary>
    public static string PlotlyJs()
    {
        using var stream = typeof(GenericChart).Assembly.GetManifestResourceStream(BundledPlotlyJs)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The plotly.js version, from the bundled resource name (e.g. "2.28.0").</summary>
    public static string PlotlyJsVersion() => BundledPlotlyJs.Replace("Plotly.NET.plotly-", "").Replace(".min.js", "");

    /// <summary>The resource name of the plotly.js that Plotly.NET embeds, e.g. "Plotly.NET.plotly-2.28.0.min.js".</summary>
    private static readonly string BundledPlotlyJs =
        typeof(GenericChart).Assembly.GetManifestResourceNames().Single(n => n.EndsWith(".min.js", StringComparison.Ordinal));

    /// <summary>
    /// A log axis with a tick at each power of ten only (1, 10, 100, 1000), starting at the power of ten below the
    /// smallest value: bars then grow from a round number, not from wherever plotly's automatic range begins.
    /// </summary>
    private static void LogAxis(JsonObject axis, IEnumerable<double> values)
    {
        axis["type"] = "log";
        axis["dtick"] = 1;
        var positive = values.Where(v => v > 0 && double.IsFinite(v)).ToList();
        if (positive.Count > 0)
            axis["range"] = new JsonArray(Math.Floor(Math.Log10(positive.Min())), Math.Log10(positive.Max()) + 0.1);
    }

    private static JsonObject Axis(JsonNode? existing, string? title)
    {
        var axis = existing as JsonObject ?? new JsonObject();
        if (title is not null) axis["title"] = new JsonObject { ["text"] = title };
        return axis;
    }

    private static GenericChart BuildTrace(TraceSpec t)
    {
        var name = t.Name ?? "";
        var y = t.Y ?? [];
        var labels = t.XLabels;
        var x = t.X ?? Enumerable.Range(1, y.Length).Select(i => (double)i).ToArray();
        if (labels is not null && t.Kind != "bar")
            throw new ArgumentException($"Category labels are only supported for bar traces, not '{t.Kind}'.");
        var chart = t.Kind switch
        {
            "histogram" when t.Bins is { } bins => CSharpChart.Histogram<double, double, string>(X: x, Name: name, Opacity: t.Opacity ?? 0.75, NBinsX: bins),
            "histogram" => CSharpChart.Histogram<double, double, string>(X: x, Name: name, Opacity: t.Opacity ?? 0.75),
            "bar" when labels is not null => CSharpChart.Column<double, string, string>(values: y, Keys: labels, Name: name),
            "bar" => CSharpChart.Column<double, double, string>(values: y, Keys: x, Name: name),
            "box" => CSharpChart.BoxPlot<string, double, string>(Y: y, Name: name),
            "lines" => CSharpChart.Line<double, double, string>(x: x, y: y, Name: name),
            "markers" => CSharpChart.Point<double, double, string>(x: x, y: y, Name: name),
            "lines+markers" => CSharpChart.Line<double, double, string>(x: x, y: y, Name: name, ShowMarkers: true),
            "band" => CSharpChart.Range<double, double, string>(x: x, y: y, upper: t.Upper ?? [], lower: t.Lower ?? [], mode: StyleParam.Mode.Lines, Name: name),
            _ => throw new ArgumentException($"Unknown trace kind '{t.Kind}'.")
        };
        return chart;
    }

    private sealed record ChartSpec(string Title, string? XTitle, string? YTitle, int Height, string? BarMode, TraceSpec[] Traces, bool YLog = false);

    private sealed record TraceSpec(string Kind, string? Name, double[]? X, string[]? XLabels, double[]? Y,
        double[]? Upper, double[]? Lower, double? Opacity, int? Bins);
}

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
        Style(figure["data"]!.AsArray(), spec);
        var layout = figure["layout"] as JsonObject ?? new JsonObject();
        figure["layout"] = layout;
        FitXAxis(layout, spec);
        layout["title"] = new JsonObject { ["text"] = spec.Title };
        layout["xaxis"] = Axis(layout["xaxis"], spec.XTitle);
        layout["yaxis"] = Axis(layout["yaxis"], spec.YTitle);
        layout["height"] = spec.Height;
        // Plotly.NET fixes the width; without it the chart fills the notebook's output area (autosize, responsive).
        layout.Remove("width");
        layout["autosize"] = true;
        if (spec.BarMode is { } barMode) layout["barmode"] = barMode;
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

    private static JsonObject Axis(JsonNode? existing, string? title)
    {
        var axis = existing as JsonObject ?? new JsonObject();
        if (title is not null) axis["title"] = new JsonObject { ["text"] = title };
        return axis;
    }

    /// <summary>
    /// Per-trace styles Plotly.NET's C# API makes awkward (marker symbol and size, dashes), set on the figure JSON, and
    /// bands shown as one legend entry: Plotly.NET's Range draws three traces (lower, upper, middle) named "lower",
    /// "upper" and the band's name, grouped under a "Range" title; a reader sees one shaded area named by the band.
    /// </summary>
    private static void Style(JsonArray data, ChartSpec spec)
    {
        var at = 0;
        for (var k = 0; k < spec.Traces.Length; k++)
        {
            var trace = spec.Traces[k];
            if (trace.Kind == "band")
            {
                var (lower, upper, middle) = (data[at]!.AsObject(), data[at + 1]!.AsObject(), data[at + 2]!.AsObject());
                foreach (var edge in new[] { lower, upper, middle })
                {
                    edge.Remove("legendgrouptitle");
                    edge["legendgroup"] = trace.Name ?? "band";
                }
                lower["showlegend"] = false;
                lower["line"] = new JsonObject { ["width"] = 0 };
                upper["name"] = trace.Name ?? "";
                upper["showlegend"] = true;
                upper["line"] = new JsonObject { ["width"] = 0 };
                upper["fillcolor"] = "rgba(99,110,250,0.2)";
                if (trace.Y is null)
                {
                    data.RemoveAt(at + 2);
                    at += 2;
                }
                else
                {
                    middle["showlegend"] = false;
                    middle["line"] = new JsonObject { ["dash"] = "dash" };
                    at += 3;
                }
                continue;
            }
            var entry = data[at++]!.AsObject();
            if (spec.Styles is not { } styles || k >= styles.Length) continue;
            var style = styles[k];
            if (style.Symbol is not null || style.MarkerSize is not null)
            {
                var marker = entry["marker"] as JsonObject ?? new JsonObject();
                if (style.Symbol is { } symbol) marker["symbol"] = symbol;
                if (style.MarkerSize is { } size) marker["size"] = size;
                entry["marker"] = marker;
            }
            if (style.Dash is { } dash)
            {
                var line = entry["line"] as JsonObject ?? new JsonObject();
                line["dash"] = dash;
                entry["line"] = line;
            }
        }
    }

    /// <summary>Whole-number ticks for an x axis that counts (sequence numbers): never a tick at 1.5.</summary>
    private static void FitXAxis(JsonObject layout, ChartSpec spec)
    {
        if (!spec.XIntegers) return;
        var axis = layout["xaxis"] as JsonObject ?? new JsonObject();
        layout["xaxis"] = axis;
        var xs = spec.Traces.SelectMany(t => t.X ?? []).ToArray();
        var span = xs.Length == 0 ? 1 : xs.Max() - xs.Min();
        axis["tick0"] = 0;
        axis["dtick"] = WholeStep(span);
    }

    /// <summary>A tick step of 1, 2, 5, 10, 20, 50, … that puts about eight ticks on <paramref name="span"/>.</summary>
    internal static double WholeStep(double span)
    {
        var raw = span / 8;
        if (raw <= 1) return 1;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var mantissa = raw / power;
        return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
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
            "band" => CSharpChart.Range<double, double, string>(x: x, y: t.Y ?? t.Lower ?? [], upper: t.Upper ?? [], lower: t.Lower ?? [], mode: StyleParam.Mode.Lines, Name: name),
            _ => throw new ArgumentException($"Unknown trace kind '{t.Kind}'.")
        };
        return chart;
    }

    private sealed record ChartSpec(string Title, string? XTitle, string? YTitle, int Height, string? BarMode, TraceSpec[] Traces,
        bool XIntegers = false, StyleSpec[]? Styles = null);

    private sealed record StyleSpec(string? Symbol, int? MarkerSize, string? Dash);

    private sealed record TraceSpec(string Kind, string? Name, double[]? X, string[]? XLabels, double[]? Y,
        double[]? Upper, double[]? Lower, double? Opacity, int? Bins);
}

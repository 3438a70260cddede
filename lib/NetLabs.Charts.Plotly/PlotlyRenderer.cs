using System.Text.Json;
using System.Text.Json.Nodes;
using Plotly.NET;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace NetLabs.Charts.Plotly;

/// <summary>
/// Entry points called by NetLabs.Lib across the AssemblyLoadContext boundary. Only BCL types cross it:
/// a chart specification as JSON goes in, Plotly figure JSON comes out.
/// (The plotly.js that draws the figures is NetLabs.Lib's own smaller bundle, not the one inside Plotly.NET.)
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
        if (spec.YLog) LogAxis(layout["yaxis"]!.AsObject(), spec.Traces.SelectMany(t => t.Y ?? []));
        TrimTemplate(layout, figure["data"]!.AsArray().Select(t => (string?)t!["type"]).OfType<string>().ToHashSet());
        return Compact(figure).ToJsonString();
    }

    /// <summary>Layout parts of Plotly.NET's default template that only other kinds of chart (maps, 3-D, polar, ternary) read.</summary>
    private static readonly string[] UnusedTemplateLayout = ["geo", "mapbox", "polar", "scene", "ternary", "colorscale", "coloraxis"];

    /// <summary>
    /// Plotly.NET writes its whole default template (≈8.5 KB, defaults for 30 trace types) into every figure; only
    /// the parts for the figure's own trace types and its 2-D axes change how it looks, the rest only weighs on the
    /// notebook a student saves.
    /// </summary>
    private static void TrimTemplate(JsonObject layout, HashSet<string> traceTypes)
    {
        if (layout["template"] is not JsonObject template) return;
        if (template["layout"] is JsonObject templateLayout)
            foreach (var unused in UnusedTemplateLayout) templateLayout.Remove(unused);
        if (template["data"] is JsonObject defaults)
            foreach (var type in defaults.Select(d => d.Key).Where(type => !traceTypes.Contains(type)).ToList()) defaults.Remove(type);
    }

    /// <summary>Numbers in their shortest form (Plotly.NET writes 1000 sequence numbers as "1.0", "2.0", …).</summary>
    private static JsonObject Compact(JsonObject figure)
    {
        var pending = new Stack<JsonNode>([figure]);
        while (pending.TryPop(out var node))
        {
            if (node is JsonObject obj)
                foreach (var key in obj.Select(p => p.Key).ToList()) Visit(obj[key], shorter => obj[key] = shorter);
            else if (node is JsonArray array)
                for (var i = 0; i < array.Count; i++) { var at = i; Visit(array[at], shorter => array[at] = shorter); }
        }
        return figure;

        void Visit(JsonNode? child, Action<JsonNode> replace)
        {
            // Numbers as parsed from Plotly.NET's text (the few set here are written short already).
            if (child is JsonValue value && value.TryGetValue<JsonElement>(out var element) && element.ValueKind == JsonValueKind.Number)
            {
                var number = element.GetDouble();
                replace(double.IsInteger(number) && Math.Abs(number) < 1e15 ? JsonValue.Create((long)number) : JsonValue.Create(number));
            }
            else if (child is not null) pending.Push(child);
        }
    }

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
        bool XIntegers = false, StyleSpec[]? Styles = null, bool YLog = false);

    private sealed record StyleSpec(string? Symbol, int? MarkerSize, string? Dash);

    private sealed record TraceSpec(string Kind, string? Name, double[]? X, string[]? XLabels, double[]? Y,
        double[]? Upper, double[]? Lower, double? Opacity, int? Bins);
}

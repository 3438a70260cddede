using System.Globalization;
using System.Net;
using System.Text.Json;
using NetLabs.Display;

namespace NetLabs.Charts;

/// <summary>One series of a chart. Build them with the static helpers rather than by hand.</summary>
public sealed record Trace
{
    /// <summary>"histogram", "bar", "box", "lines", "markers", "lines+markers" or "band".</summary>
    public required string Kind { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<double>? X { get; init; }
    /// <summary>Category labels for the x axis (bar charts).</summary>
    public IReadOnlyList<string>? XLabels { get; init; }
    public IReadOnlyList<double>? Y { get; init; }
    /// <summary>Upper and lower edge of a band (e.g. a confidence interval).</summary>
    public IReadOnlyList<double>? Upper { get; init; }
    public IReadOnlyList<double>? Lower { get; init; }
    public double? Opacity { get; init; }
    public int? Bins { get; init; }
    /// <summary>Marker shape (plotly's names: "circle-open", "x", "diamond", …); null = plotly's default.</summary>
    public string? Symbol { get; init; }
    /// <summary>Marker size in pixels; null = plotly's default (6).</summary>
    public int? MarkerSize { get; init; }
    /// <summary>Line style ("dash", "dot", "dashdot"); null = solid.</summary>
    public string? Dash { get; init; }

    public static Trace Histogram(string name, IEnumerable<double> values, int? bins = null) =>
        new() { Kind = "histogram", Name = name, X = values.ToArray(), Bins = bins };

    public static Trace Lines(string name, IEnumerable<double> x, IEnumerable<double> y) =>
        new() { Kind = "lines", Name = name, X = x.ToArray(), Y = y.ToArray() };

    public static Trace Markers(string name, IEnumerable<double> x, IEnumerable<double> y) =>
        new() { Kind = "markers", Name = name, X = x.ToArray(), Y = y.ToArray() };

    public static Trace LinesAndMarkers(string name, IEnumerable<double> x, IEnumerable<double> y) =>
        new() { Kind = "lines+markers", Name = name, X = x.ToArray(), Y = y.ToArray() };

    public static Trace Bars(string name, IEnumerable<string> categories, IEnumerable<double> values) =>
        new() { Kind = "bar", Name = name, XLabels = categories.ToArray(), Y = values.ToArray() };

    public static Trace Box(string name, IEnumerable<double> values) =>
        new() { Kind = "box", Name = name, Y = values.ToArray() };

    public static Trace Band(string name, IEnumerable<double> x, IEnumerable<double> middle, IEnumerable<double> lower, IEnumerable<double> upper) =>
        new() { Kind = "band", Name = name, X = x.ToArray(), Y = middle.ToArray(), Lower = lower.ToArray(), Upper = upper.ToArray() };

    /// <summary>A shaded band without a middle line: one legend entry, <paramref name="name"/>, for the shaded area.</summary>
    public static Trace Band(string name, IEnumerable<double> x, IEnumerable<double> lower, IEnumerable<double> upper) =>
        new() { Kind = "band", Name = name, X = x.ToArray(), Lower = lower.ToArray(), Upper = upper.ToArray() };
}

/// <summary>
/// A chart: title, axis titles and traces. It is built with Plotly.NET (in an isolated load context, see
/// <see cref="ChartRenderer"/>) and displayed in a notebook as HTML that draws with the page's plotly.js: the first
/// chart of a notebook carries it (<see cref="PlotlyJs"/>, 1.3 MB), every other chart is a few kilobytes, all offline.
/// </summary>
public sealed class Chart : IHtmlDisplay
{
    public Chart(string title, params IEnumerable<Trace> traces)
    {
        Title = title;
        Traces = traces.ToList();
        if (Traces.Count == 0) throw new ArgumentException("A chart needs at least one trace.", nameof(traces));
    }

    public string Title { get; }
    public string? XTitle { get; init; }
    public string? YTitle { get; init; }
    public int Height { get; init; } = 420;
    /// <summary>"group" (side by side), "overlay" or "stack" for bars and histograms.</summary>
    public string? BarMode { get; init; }
    /// <summary>The x axis counts things (sequence numbers): ticks on whole numbers only, never at 1.5.</summary>
    public bool XIntegers { get; init; }
    /// <summary>
    /// A logarithmic y axis: each power of ten gets the same height, so 3 ms and 1.5 s are both readable in one chart
    /// (on a linear axis the 3 ms bar is invisible). Say so in <see cref="YTitle"/>.
    /// </summary>
    public bool YLog { get; init; }
    public IReadOnlyList<Trace> Traces { get; }

    /// <summary>The specification handed to the Plotly.NET plug-in (JSON of BCL types only).</summary>
    internal string ToSpecJson() => JsonSerializer.Serialize(new
    {
        XIntegers, Styles = Traces.Select(t => new { t.Symbol, t.MarkerSize, t.Dash }),
        Title, XTitle, YTitle, Height, BarMode, YLog,
        Traces = Traces.Select(t => new
        {
            t.Kind, t.Name, X = Shown(t.X), t.XLabels, Y = Shown(t.Y), Upper = Shown(t.Upper), Lower = Shown(t.Lower), t.Opacity, t.Bins,
        }),
    }, new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>
    /// Values as the chart shows them: 6 significant digits, more than any axis or hover label needs. A measured RTT
    /// has 17 digits; written in full, 1000 of them would make a saved notebook tens of kilobytes heavier per chart.
    /// </summary>
    private static double[]? Shown(IReadOnlyList<double>? values) =>
        values?.Select(v => double.IsFinite(v) ? double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : v).ToArray();

    /// <summary>The Plotly figure ({"data", "layout", "config"}) as JSON, built by Plotly.NET.</summary>
    public string ToFigureJson() => ChartRenderer.Shared.FigureJson(ToSpecJson());

    /// <summary>
    /// A div and a script that draws the figure with the page's plotly.js; the notebook's first chart brings plotly.js
    /// along (<see cref="PlotlyJs.LoaderForFirstChart"/>). When plotly.js is not there yet the draw waits in a queue
    /// that the loader empties, and a note in the div says what to run.
    /// </summary>
    public string ToHtml()
    {
        var id = "netlabs-chart-" + Guid.NewGuid().ToString("N")[..12];
        var figure = ToFigureJson().Replace("</", "<\\/", StringComparison.Ordinal);
        return string.Create(CultureInfo.InvariantCulture, $$"""
            <div id="{{id}}" style="width:100%;min-height:{{Height}}px"><span class="netlabs-chart-pending">{{WebUtility.HtmlEncode(Title)}}: waiting for plotly.js, which comes with the notebook's first chart: run the notebook from the top (Run All).</span></div>
            {{PlotlyJs.LoaderForFirstChart()}}
            <script type="text/javascript">
            (function () {
              var figure = {{figure}};
              function draw() {
                var div = document.getElementById("{{id}}");
                if (!div) return;
                div.innerHTML = "";
                window.Plotly.newPlot(div, figure.data, figure.layout, { responsive: true, displaylogo: false });
              }
              if (window.Plotly) draw(); else (window.netlabsPlotlyQueue = window.netlabsPlotlyQueue || []).push(draw);
            })();
            </script>
            """);
    }

    public override string ToString() => $"Chart \"{Title}\" ({Traces.Count} trace(s))";
}

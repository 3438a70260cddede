using System.Text.RegularExpressions;

namespace NetLabs.Charts;

/// <summary>
/// The plotly.js that draws NetLabs charts: the 1.3 MB "cartesian" bundle (scatter, bar, box, histogram, …) embedded
/// in this library (Charts/PlotlyJs/README.md says where it comes from), so charts draw without internet.
/// A notebook page gets it once, inside the output of its first chart: a notebook without charts carries none of it.
/// </summary>
public static partial class PlotlyJs
{
    private const string ResourceName = "NetLabs.Charts.plotly-cartesian.min.js";
    private static readonly Lazy<string> SourceText = new(ReadResource);
    private static readonly Lazy<string> VersionText = new(() => Header().Match(Source) is { Success: true } match
        ? match.Groups[1].Value
        : throw new InvalidDataException($"The embedded {ResourceName} has no version in its header."));
    private static int _inPage;

    /// <summary>The minified plotly.js.</summary>
    public static string Source => SourceText.Value;

    /// <summary>Its version, as its header states it (e.g. "2.30.1").</summary>
    public static string Version => VersionText.Value;

    /// <summary>
    /// The loader the first time it is asked for after <see cref="ForgetPage"/> (or ever), "" after that: the first
    /// chart of a notebook carries plotly.js, the others draw with the copy already in the page.
    /// </summary>
    internal static string LoaderForFirstChart() => Interlocked.Exchange(ref _inPage, 1) == 0 ? LoaderHtml() : "";

    /// <summary>
    /// A new page begins (the notebook's setup cell runs again, as Run All does): the next chart carries plotly.js again,
    /// so a notebook saved after Run All always holds it in its first chart.
    /// </summary>
    internal static void ForgetPage() => Interlocked.Exchange(ref _inPage, 0);

    /// <summary>
    /// A script that defines window.Plotly (unless the page has it already) and then draws every chart that was waiting.
    /// require.js (classic Jupyter) would capture plotly's UMD bundle as an AMD module, so define is hidden while it runs.
    /// </summary>
    internal static string LoaderHtml() => $$"""
        <script type="text/javascript">
        (function () {
          if (!window.Plotly) {
            var savedDefine = window.define;
            window.define = undefined;
            try {
        {{Source.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)}}
            } finally { window.define = savedDefine; }
          }
          var queue = window.netlabsPlotlyQueue || [];
          window.netlabsPlotlyQueue = [];
          queue.forEach(function (draw) { draw(); });
        })();
        </script>
        """;

    private static string ReadResource()
    {
        using var stream = typeof(PlotlyJs).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The library was built without its {ResourceName} resource.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^/\*\*\s*\*\s*plotly\.js[^\n]*\bv(\d+\.\d+\.\d+)")]
    private static partial Regex Header();
}

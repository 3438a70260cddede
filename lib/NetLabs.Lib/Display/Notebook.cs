using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.DotNet.Interactive.Formatting;
using NetLabs.Charts;

namespace NetLabs.Display;

/// <summary>
/// What a notebook calls once, right after referencing the library: registers the HTML formatter for
/// <see cref="IHtmlDisplay"/> objects and loads plotly.js into the page (once, from the bundled copy, so charts
/// work without internet). Only this class touches the kernel's formatting API; the kernel supplies that
/// assembly at run time.
/// </summary>
public static class Notebook
{
    private static int _initialized;

    /// <summary>
    /// Call as the last expression of the setup cell: the returned HTML loads plotly.js and shows a short
    /// environment summary (library, .NET, chart plug-in).
    /// </summary>
    public static Html Initialize()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 0)
            Formatter.Register<IHtmlDisplay>((value, writer) => writer.Write(value.ToHtml()), HtmlFormatter.MimeType);
        var charts = ChartRenderer.Shared;
        return new Html(PlotlyLoaderHtml(charts.PlotlyJs()) + Environment(charts).ToHtml());
    }

    /// <summary>The environment this notebook runs in, as a small table.</summary>
    public static HtmlTable Environment(ChartRenderer charts)
    {
        var library = typeof(Notebook).Assembly;
        return new HtmlTable("NetLabs environment", ["what", "value"],
        [
            ["NetLabs library", $"{library.GetName().Version} ({Path.GetFileName(library.Location)})"],
            [".NET runtime", RuntimeInformation.FrameworkDescription],
            ["Operating system", RuntimeInformation.OSDescription],
            ["Kernel", KernelVersion() ?? "not inside .NET Interactive"],
            ["Charts", $"Plotly.NET plug-in with FSharp.Core {charts.PluginFSharpCoreVersion}, plotly.js {charts.PlotlyJsVersion()} (offline)"],
        ]);
    }

    /// <summary>The version of the .NET Interactive kernel hosting this code, or null outside it.</summary>
    public static string? KernelVersion() =>
        AppDomain.CurrentDomain.GetAssemblies()
            .FirstOrDefault(a => a.GetName().Name == "Microsoft.DotNet.Interactive")?
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    /// <summary>
    /// A script that defines window.Plotly from the given plotly.js and then draws every chart that was waiting.
    /// require.js (classic Jupyter) would capture plotly's UMD bundle as an AMD module, so define is hidden while it runs.
    /// </summary>
    internal static string PlotlyLoaderHtml(string plotlyJs) => $$"""
        <script type="text/javascript">
        (function () {
          if (!window.Plotly) {
            var savedDefine = window.define;
            window.define = undefined;
            try {
        {{plotlyJs.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)}}
            } finally { window.define = savedDefine; }
          }
          var queue = window.netlabsPlotlyQueue || [];
          window.netlabsPlotlyQueue = [];
          queue.forEach(function (draw) { draw(); });
        })();
        </script>
        """;

}

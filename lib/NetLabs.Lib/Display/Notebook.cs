using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.DotNet.Interactive.Formatting;
using NetLabs.Charts;

namespace NetLabs.Display;

/// <summary>
/// What a notebook calls once, right after referencing the library: registers the HTML formatter for
/// <see cref="IHtmlDisplay"/> objects and starts a new page for charts (the next chart brings plotly.js along, see
/// <see cref="PlotlyJs"/>). Only this class touches the kernel's formatting API; the kernel supplies that
/// assembly at run time.
/// </summary>
public static class Notebook
{
    private static int _initialized;

    /// <summary>
    /// Call as the last expression of the setup cell: the returned table is a short environment summary
    /// (library, .NET, chart plug-in).
    /// </summary>
    public static HtmlTable Initialize()
    {
        if (Interlocked.Exchange(ref _initialized, 1) == 0)
            Formatter.Register<IHtmlDisplay>((value, writer) => writer.Write(value.ToHtml()), HtmlFormatter.MimeType);
        PlotlyJs.ForgetPage();
        var environment = Environment(ChartRenderer.Shared);
        _ = Task.Run(WarmUpCharts);
        return environment;
    }

    /// <summary>
    /// Plotly.NET's first figure costs most of a second (JIT of F# code): build a throwaway one on a spare core while
    /// the next cells run, so the notebook's first chart does not wait for it. A failure here shows again, with its
    /// message, at the first real chart.
    /// </summary>
    private static void WarmUpCharts()
    {
        try { _ = new Chart("warm-up", Trace.Markers("", [0], [0])).ToFigureJson(); }
        catch (Exception) { /* reported by the first real chart */ }
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
            ["Charts", $"Plotly.NET plug-in with FSharp.Core {charts.PluginFSharpCoreVersion}, plotly.js {PlotlyJs.Version} cartesian bundle (offline, comes with the first chart)"],
        ]);
    }

    /// <summary>The version of the .NET Interactive kernel hosting this code, or null outside it.</summary>
    public static string? KernelVersion() =>
        AppDomain.CurrentDomain.GetAssemblies()
            .FirstOrDefault(a => a.GetName().Name == "Microsoft.DotNet.Interactive")?
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
}

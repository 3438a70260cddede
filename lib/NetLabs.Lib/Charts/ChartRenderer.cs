using System.Reflection;
using System.Runtime.Loader;

namespace NetLabs.Charts;

/// <summary>
/// Loads the Plotly.NET plug-in (plotly/NetLabs.Charts.Plotly.dll next to this library) into an
/// AssemblyLoadContext of its own and calls it with strings only.
/// Why: the .NET Interactive kernel has FSharp.Core 10.0 in its default context, Plotly.NET 6 needs 10.1;
/// in a separate context each gets its own FSharp.Core, and no F# type ever crosses the boundary.
/// </summary>
public sealed class ChartRenderer
{
    private const string PluginFolder = "plotly";
    private const string PluginAssembly = "NetLabs.Charts.Plotly";

    private static readonly Lazy<ChartRenderer> SharedInstance = new(() => Load(DefaultPluginPath()));

    private readonly Func<string, string> _figureJson;

    private ChartRenderer(Func<string, string> figureJson, string pluginPath)
    {
        _figureJson = figureJson;
        PluginPath = pluginPath;
    }

    /// <summary>The renderer of this process (the plug-in is loaded once).</summary>
    public static ChartRenderer Shared => SharedInstance.Value;

    public string PluginPath { get; }

    /// <summary>The FSharp.Core version the plug-in runs with (10.1.x, whatever the host has loaded).</summary>
    public Version? PluginFSharpCoreVersion { get; private init; }

    public string FigureJson(string specJson) => _figureJson(specJson);

    /// <summary>plotly/ next to this library's dll, wherever it was loaded from (kernel #r, test host, CLI).</summary>
    internal static string DefaultPluginPath() =>
        Path.Combine(Path.GetDirectoryName(typeof(ChartRenderer).Assembly.Location)!, PluginFolder, PluginAssembly + ".dll");

    /// <summary>Loads the plug-in from <paramref name="pluginPath"/> into a new, isolated load context.</summary>
    public static ChartRenderer Load(string pluginPath)
    {
        if (!File.Exists(pluginPath))
            throw new FileNotFoundException(
                $"The chart plug-in is missing at {pluginPath}. Build lib/NetLabs.Lib (dotnet build), which copies it there.", pluginPath);
        var context = new PluginLoadContext(pluginPath);
        var assembly = context.LoadFromAssemblyPath(Path.GetFullPath(pluginPath));
        var renderer = assembly.GetType("NetLabs.Charts.Plotly.PlotlyRenderer", throwOnError: true)!;
        var fsharpCore = context.LoadFromAssemblyName(new AssemblyName("FSharp.Core"));
        return new ChartRenderer(
            Bind<Func<string, string>>(renderer, "FigureJson"),
            pluginPath)
        {
            PluginFSharpCoreVersion = fsharpCore.GetName().Version,
        };
    }

    private static T Bind<T>(Type type, string method) where T : Delegate =>
        type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)?.CreateDelegate<T>()
        ?? throw new MissingMethodException(type.FullName, method);

    /// <summary>Resolves the plug-in's own dependencies from its folder (its deps.json), everything else from the host.</summary>
    private sealed class PluginLoadContext(string pluginPath) : AssemblyLoadContext("NetLabs.Charts.Plotly", isCollectible: false)
    {
        private readonly AssemblyDependencyResolver _resolver = new(Path.GetFullPath(pluginPath));

        protected override Assembly? Load(AssemblyName name) =>
            _resolver.ResolveAssemblyToPath(name) is { } path ? LoadFromAssemblyPath(path) : null;

        protected override IntPtr LoadUnmanagedDll(string name) =>
            _resolver.ResolveUnmanagedDllToPath(name) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}

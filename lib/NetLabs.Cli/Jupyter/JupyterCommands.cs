using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetLabs.Cli.CommandLine;

namespace NetLabs.Cli.Jupyter;

/// <summary>
/// <c>netlabs jupyter install [--path KERNELS]</c>: registers the .NET kernels with Jupyter, listening on loopback only.
/// <para>
/// Why not <c>dotnet interactive jupyter install</c>: its kernelspec starts the kernel with an HTTP API (SignalR,
/// <c>/kernelhub</c>) on ports 2048–3000 of <b>every</b> interface, and that API runs any code it is sent, with no
/// authentication. On a classroom network any classmate could run code on a student's laptop. The kernel's own
/// <c>--http-local-only</c> binds that API to 127.0.0.1. It cannot be switched off altogether (the port range has a
/// default and there is no "off"), and NetLabs notebooks do not use it: charts and tables are plain HTML outputs.
/// </para>
/// </summary>
internal static class JupyterCommands
{
    /// <summary>The kernels the stock installer registers: same names, so ours replace them.</summary>
    internal static readonly (string Name, string DisplayName, string Language, string DefaultKernel)[] Kernels =
    [
        (".net-csharp", ".NET (C#)", "C#", "csharp"),
        (".net-fsharp", ".NET (F#)", "F#", "fsharp"),
        (".net-powershell", ".NET (PowerShell)", "PowerShell", "pwsh"),
    ];

    public static Command Create()
    {
        var path = new Option<string?>("--path")
        {
            Description = "The Jupyter kernels folder to write to (default: your user's, e.g. ~/.local/share/jupyter/kernels).",
        };
        var install = new Command("install", "Register the .NET kernels with Jupyter, with their HTTP API on loopback only (replaces the stock kernelspecs of the same names).")
        {
            path,
        };
        install.SetAction((result, cancellationToken) => CliRunner.RunAsync(_ =>
        {
            var kernels = result.GetValue(path) is { } given ? Path.GetFullPath(given) : UserKernelsFolder();
            foreach (var kernel in Kernels)
            {
                var written = Write(kernels, kernel.Name, kernel.DisplayName, kernel.Language, kernel.DefaultKernel);
                Console.WriteLine($"installed {kernel.DisplayName} in {written} (HTTP API on 127.0.0.1 only)");
            }
            return Task.FromResult(0);
        }, cancellationToken));
        return new Command("jupyter", "Jupyter integration.") { install };
    }

    /// <summary>Writes <c>KERNELS/NAME/kernel.json</c> and returns its folder.</summary>
    internal static string Write(string kernelsFolder, string name, string displayName, string language, string defaultKernel)
    {
        var folder = Path.Combine(kernelsFolder, name);
        Directory.CreateDirectory(folder);
        var spec = new JsonObject
        {
            // `dotnet interactive` finds the pinned local tool (.config/dotnet-tools.json) when Jupyter runs inside the repository.
            ["argv"] = new JsonArray("dotnet", "interactive", "jupyter", "--default-kernel", defaultKernel, "{connection_file}",
                "--http-local-only", "--http-port-range", "2048-3000"),
            ["display_name"] = displayName,
            ["language"] = language,
            ["metadata"] = new JsonObject { ["netlabs"] = new JsonObject { ["http"] = "loopback only (--http-local-only)" } },
        };
        File.WriteAllText(Path.Combine(folder, "kernel.json"), spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return folder;
    }

    /// <summary>Jupyter's per-user data folder (jupyter_core's rules), plus <c>kernels</c>.</summary>
    private static string UserKernelsFolder()
    {
        if (Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR") is { Length: > 0 } data) return Path.Combine(data, "kernels");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "jupyter", "kernels");
        if (OperatingSystem.IsMacOS()) return Path.Combine(home, "Library", "Jupyter", "kernels");
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } x ? x : Path.Combine(home, ".local", "share");
        return Path.Combine(xdg, "jupyter", "kernels");
    }
}

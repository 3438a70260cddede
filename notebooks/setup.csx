// The first cell of every NetLabs notebook loads this file (`#load "setup.csx"`, or `"../setup.csx"` one folder deeper):
// one source for the setup, the same in VS Code, Jupyter and the headless runs, on Windows, macOS and Linux.
//
// It builds lib/NetLabs.Lib in Release, which the next cell references with `#r`. `dotnet build` costs seconds even
// when nothing changed (MSBuild starts, restores, checks every target), so the build runs only when a file the library
// is made from is newer than the last build this script finished. A fresh clone builds everything, restore included.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;

static class NetLabsSetup
{
    public static string Build()
    {
        var root = FindRepository(Directory.GetCurrentDirectory());
        var library = Path.Combine(root, "lib", "NetLabs.Lib");
        var dll = Path.Combine(library, "bin", "Release", "net10.0", "NetLabs.Lib.dll");
        var stamp = Path.Combine(library, "obj", "Release", "notebook-build.stamp");

        var sources = new[] { library, Path.Combine(root, "lib", "NetLabs.Charts.Plotly") }
            .SelectMany(SourceFiles)
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props", "NuGet.config", "global.json" }
                .Select(name => Path.Combine(root, name)).Where(File.Exists));
        var newestSource = sources.Max(File.GetLastWriteTimeUtc);
        if (File.Exists(dll) && File.Exists(stamp) && File.GetLastWriteTimeUtc(stamp) >= newestSource)
            return "NetLabs library up to date.";

        var started = DateTime.UtcNow;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        foreach (var argument in new[] { "build", library, "-c", "Release", "-nologo", "-v", "q", "-clp:NoSummary" })
            start.ArgumentList.Add(argument);
        using var build = Process.Start(start)!;
        var error = build.StandardError.ReadToEndAsync();
        var output = build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        if (build.ExitCode != 0)
        {
            var log = output + error.Result;
            var first = log.Split('\n').FirstOrDefault(line => line.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim() ?? "(no error line)";
            throw new Exception($"lib/NetLabs.Lib did not build: {first}\nIs the .NET 10 SDK installed (`dotnet --info`)? " +
                $"If a file is in use, restart the kernel and run the notebook again.\n{log}");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(stamp)!);
        File.WriteAllText(stamp, "");
        // Stamped with the time the build started: a file saved while it ran is newer, so the next run builds again.
        File.SetLastWriteTimeUtc(stamp, started);
        return "NetLabs library built.";
    }

    // The notebook's folder is the kernel's working directory; the repository is the nearest folder above it with the library.
    static string FindRepository(string from)
    {
        for (var folder = new DirectoryInfo(from); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "lib", "NetLabs.Lib", "NetLabs.Lib.csproj")))
                return folder.FullName;
        throw new Exception($"No NetLabs repository above {from}: open the notebook from the repository's notebooks/ folder.");
    }

    static IEnumerable<string> SourceFiles(string project) =>
        Directory.EnumerateFiles(project, "*", new EnumerationOptions { RecurseSubdirectories = false })
            .Concat(Directory.EnumerateDirectories(project)
                .Where(folder => Path.GetFileName(folder) is not ("bin" or "obj"))
                .SelectMany(folder => Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true })));
}

Console.WriteLine(NetLabsSetup.Build());

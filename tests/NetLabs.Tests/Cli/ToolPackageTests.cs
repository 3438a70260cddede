using NetLabs.Tests.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Cli;

/// <summary>`dotnet pack` then `dotnet tool install --tool-path … --add-source …` gives a working `netlabs`.</summary>
[Collection(RealKernel.Collection)] // builds in Release, like the notebooks: never at the same time
public sealed class ToolPackageTests(RealKernel kernel)
{
    [Fact]
    public async Task Packed_tool_installs_and_runs()
    {
        var work = Directory.CreateTempSubdirectory("netlabs-tool-");
        try
        {
            var packages = Path.Combine(work.FullName, "packages");
            var tools = Path.Combine(work.FullName, "tools");
            var pack = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet",
                ["pack", Path.Combine(RepoPaths.Root, "lib", "NetLabs.Cli"), "-c", "Release", "-o", packages, "-nologo"],
                TimeSpan.FromMinutes(5)));
            Assert.True(pack.ExitCode == 0, pack.ToString());
            var package = Assert.Single(Directory.GetFiles(packages, "NetLabs.Cli.*.nupkg"));

            var install = await ExternalProcess.RunAsync("dotnet",
                ["tool", "install", "NetLabs.Cli", "--tool-path", tools, "--add-source", packages,
                 "--version", Path.GetFileNameWithoutExtension(package)["NetLabs.Cli.".Length..]],
                TimeSpan.FromMinutes(3));
            Assert.True(install.ExitCode == 0, install.ToString());

            var netlabs = Path.Combine(tools, OperatingSystem.IsWindows() ? "netlabs.exe" : "netlabs");
            var help = await ExternalProcess.RunAsync(netlabs, ["--help"], TimeSpan.FromMinutes(1));
            Assert.True(help.ExitCode == 0, help.ToString());
            Assert.Contains("notebooks", help.StandardOutput);
            foreach (var command in ExpectedCommands)
                Assert.Contains(command, help.StandardOutput);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The lab commands the classroom needs (issue 6); each lab adds its own.</summary>
    public static readonly string[] ExpectedCommands = ["web", "ping", "heartbeat", "mail", "notebooks"];
}

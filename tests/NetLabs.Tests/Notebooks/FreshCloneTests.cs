using System.Text.Json.Nodes;
using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Notebooks;

/// <summary>
/// The first five minutes of a new user: a `git clone` (never a copy of this working tree, whose bin/ and obj/ hide
/// missing restore steps) and then, with nothing restored, the first thing they run. Each entry point gets a clone of
/// its own, so each really is the first command there.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class FreshCloneTests(RealKernel kernel)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_notebook_runs_as_the_first_thing_on_a_fresh_clone_from_both_notebook_folders()
    {
        using var clone = await FreshClone.CreateAsync();
        // notebooks/student/ first: its setup cell builds the library from nothing (restore included), as a student's
        // first cell does; then a lab notebook from notebooks/ finds it up to date.
        var student = Path.Combine(clone.Root, "notebooks", "student", ".setup-only.ipynb");
        await File.WriteAllTextAsync(student, SetupCellsOf(Path.Combine(clone.Root, "notebooks", "student", "01-web-server.ipynb")).ToJsonString());

        var runner = new NotebookRunner(BuildTimeout);
        var output = Path.Combine(clone.Root, "artifacts");
        var setup = await kernel.Serialized(() => runner.RunAsync(student, output, CancellationToken.None));
        Assert.True(setup.Succeeded, FirstBuildError(setup));
        Assert.Contains("NetLabs library built.", await File.ReadAllTextAsync(setup.ExecutedNotebook!));

        var lab = await kernel.Serialized(() => runner.RunAsync(Path.Combine(clone.Root, "notebooks", "00-getting-started.ipynb"), output, CancellationToken.None));
        Assert.True(lab.Succeeded, FirstBuildError(lab));
        Assert.Contains("NetLabs library up to date.", await File.ReadAllTextAsync(lab.ExecutedNotebook!));
    }

    [Fact]
    public async Task The_classroom_install_packs_the_command_as_the_first_thing_on_a_fresh_clone()
    {
        using var clone = await FreshClone.CreateAsync();
        // README, "In the classroom": dotnet pack lib/NetLabs.Cli -c Release -o packages
        var pack = await kernel.Serialized(() => ExternalProcess.RunAsync("dotnet", ["pack", "lib/NetLabs.Cli", "-c", "Release", "-o", "packages", "-nologo"],
            BuildTimeout, workingDirectory: clone.Root));
        Assert.True(pack.ExitCode == 0, FirstErrorLine(pack.StandardOutput + pack.StandardError));
        Assert.Single(Directory.GetFiles(Path.Combine(clone.Root, "packages"), "NetLabs.Cli.*.nupkg"));
    }

    /// <summary>A notebook made of the first two code cells of <paramref name="notebook"/>: the setup every notebook shares.</summary>
    private static JsonNode SetupCellsOf(string notebook)
    {
        var document = JsonNode.Parse(File.ReadAllText(notebook))!;
        var cells = document["cells"]!.AsArray();
        var setup = cells.Where(c => (string?)c!["cell_type"] == "code").Take(2).Select(c => c!.DeepClone()).ToArray();
        document["cells"] = new JsonArray(setup);
        return document;
    }

    private static string FirstBuildError(NotebookRun run) =>
        run.Errors.Count > 0 ? FirstErrorLine(run.Errors[0].Message) + "\n" + run.Describe() : run.Describe();

    private static string FirstErrorLine(string log) =>
        log.Split('\n').FirstOrDefault(line => line.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim() ?? log;

    /// <summary>`git clone` of this repository's HEAD into an empty temporary folder, deleted again.</summary>
    private sealed class FreshClone : IDisposable
    {
        private readonly DirectoryInfo _parent;
        public string Root { get; }

        private FreshClone(DirectoryInfo parent)
        {
            _parent = parent;
            Root = Path.Combine(parent.FullName, "netlabs");
        }

        public static async Task<FreshClone> CreateAsync()
        {
            var git = ExternalProcess.Find("git") ?? throw new InvalidOperationException("git is not installed (apt-get install git); .ci/run installs it.");
            var clone = new FreshClone(Directory.CreateTempSubdirectory("netlabs-fresh-clone-"));
            var result = await ExternalProcess.RunAsync(git, ["clone", "--quiet", RepoPaths.Root, clone.Root], TimeSpan.FromMinutes(2));
            Assert.True(result.ExitCode == 0, "git clone: " + result);
            return clone;
        }

        public void Dispose() => _parent.Delete(recursive: true);
    }
}

using System.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary><c>netlabs notebooks run [PATH…] [--out DIR] [--timeout SECONDS]</c>: execute notebooks headless.</summary>
internal static class NotebooksCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("path")
        {
            Description = "Notebooks or folders of notebooks (default: the repository's notebooks/ folder, not its student/ subfolder).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var output = new Option<string>("--out") { Description = "Where the executed notebooks and their HTML go.", DefaultValueFactory = _ => "artifacts" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds one notebook may take before it is stopped.", DefaultValueFactory = _ => 300 };
        var run = new Command("run", "Execute notebooks in the .NET Interactive kernel; write executed copies and HTML; fail on any cell error.")
        {
            paths, output, timeout,
        };
        run.SetAction(async (result, cancellationToken) =>
        {
            var notebooks = Expand(result.GetValue(paths) ?? []);
            if (notebooks.Count == 0)
            {
                Console.Error.WriteLine("netlabs: no notebooks found (give .ipynb files or folders).");
                return 2;
            }
            var outputDirectory = Path.GetFullPath(result.GetValue(output)!);
            await NotebookRunner.RestoreToolsAsync(Path.GetDirectoryName(notebooks[0])!, cancellationToken);
            var runner = new NotebookRunner(TimeSpan.FromSeconds(result.GetValue(timeout)));
            var failures = 0;
            foreach (var notebook in notebooks)
            {
                Console.WriteLine($"running {Path.GetFileName(notebook)} …");
                var outcome = await runner.RunAsync(notebook, outputDirectory, cancellationToken);
                Console.WriteLine(outcome.Describe());
                if (!outcome.Succeeded) failures++;
            }
            Console.WriteLine($"notebooks: {notebooks.Count - failures} passed, {failures} failed; executed copies and HTML in {outputDirectory}");
            return failures == 0 ? 0 : 1;
        });
        return new Command("notebooks", "Run the lab notebooks headless.") { run };
    }

    private static List<string> Expand(string[] paths)
    {
        if (paths.Length == 0)
            paths = [Path.Combine(FindRepositoryRoot() ?? Environment.CurrentDirectory, "notebooks")];
        return paths.SelectMany<string, string>(p => Directory.Exists(p)
                ? NotebookFiles.In(p)
                : File.Exists(p) ? [p] : [])
            .Select(Path.GetFullPath).ToList();
    }

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NetLabs.Lib.sln"))) return dir.FullName;
        return null;
    }
}

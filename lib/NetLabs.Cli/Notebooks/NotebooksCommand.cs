using System.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// <c>netlabs notebooks run [PATH…] [--out DIR] [--timeout SECONDS]</c>: execute notebooks headless.
/// <c>netlabs notebooks check PATH… [--solutions DIR] [--out DIR] [--timeout SECONDS]</c>: run students' notebooks and
/// print their report cards as one table.
/// </summary>
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
        return new Command("notebooks", "Run the lab notebooks headless.") { run, CreateCheck() };
    }

    private static Command CreateCheck()
    {
        var paths = new Argument<string[]>("path")
        {
            Description = "Submitted student notebooks, or folders of them.",
            Arity = ArgumentArity.OneOrMore,
        };
        var solutions = new Option<string?>("--solutions") { Description = "Fill every gap with its reference solution from this folder (e.g. notebooks/student/solutions)." };
        var output = new Option<string>("--out") { Description = "Where the executed notebooks and their HTML go.", DefaultValueFactory = _ => Path.Combine("artifacts", "checks") };
        var timeout = new Option<int>("--timeout") { Description = "Seconds one notebook may take before it is stopped.", DefaultValueFactory = _ => 300 };
        var check = new Command("check", "Run students' notebooks headless and print their report cards as one table (notebook, lab, passed, failed, errors, time).")
        {
            paths, solutions, output, timeout,
        };
        check.SetAction(async (result, cancellationToken) =>
        {
            var notebooks = ExpandSubmissions(result.GetValue(paths) ?? []);
            if (notebooks.Count == 0)
            {
                Console.Error.WriteLine("netlabs: no notebooks found (give .ipynb files or folders).");
                return 2;
            }
            var root = FindRepositoryRoot();
            if (root is null)
            {
                Console.Error.WriteLine("netlabs: run this inside the NetLabs repository: the notebooks are run from its notebooks/student/ folder.");
                return 2;
            }
            var solutionsFolder = result.GetValue(solutions) is { } given ? Path.GetFullPath(given) : null;
            if (solutionsFolder is not null && !Directory.Exists(solutionsFolder))
            {
                Console.Error.WriteLine($"netlabs: no solutions folder {solutionsFolder}.");
                return 2;
            }
            var studentFolder = Path.Combine(root, "notebooks", "student");
            var outputDirectory = Path.GetFullPath(result.GetValue(output)!);
            await NotebookRunner.RestoreToolsAsync(root, cancellationToken);
            var runner = new NotebookRunner(TimeSpan.FromSeconds(result.GetValue(timeout)));
            var checks = new List<NotebookCheck>();
            foreach (var notebook in notebooks)
            {
                Console.WriteLine($"checking {Path.GetFileName(notebook)} …");
                checks.Add(await StudentNotebooks.CheckAsync(runner, notebook, studentFolder, solutionsFolder, outputDirectory, cancellationToken));
            }
            Console.WriteLine();
            Console.Write(StudentNotebooks.Table(checks));
            Console.WriteLine($"{checks.Count} notebook(s) checked; executed copies and HTML in {outputDirectory}");
            return checks.Any(c => c.CouldNotRun) ? 1 : 0;
        });
        return check;
    }

    /// <summary>Files as given; for a folder, the notebooks directly in it (hidden scratch copies skipped).</summary>
    private static List<string> ExpandSubmissions(string[] paths) =>
        paths.SelectMany<string, string>(p => Directory.Exists(p) ? NotebookFiles.In(p) : File.Exists(p) ? [p] : [])
            .Select(Path.GetFullPath).ToList();

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

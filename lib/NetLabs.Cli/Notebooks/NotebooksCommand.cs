using System.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// <c>netlabs notebooks run [PATH…] [--out DIR] [--timeout SECONDS]</c>: execute notebooks headless.
/// <c>netlabs notebooks check PATH… [--solutions DIR] [--lab LAB] [--out DIR] [--timeout SECONDS]</c>: grade students'
/// notebooks, each in an isolated scratch copy (<see cref="ClassGrader"/>), and print one table.
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
        run.SetAction((result, invocationToken) => Interruptible(async cancellationToken =>
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
        }, invocationToken));
        return new Command("notebooks", "Run the lab notebooks headless.") { run, CreateCheck(), CreateJudge() };
    }

    /// <summary>
    /// Ctrl+C or SIGTERM: the child processes (the kernel, a judge) are killed by <see cref="CommandLine.ChildProcess"/>,
    /// and the command ends with one line and exit code 130; failures are one line too.
    /// </summary>
    private static async Task<int> Interruptible(Func<CancellationToken, Task<int>> body, CancellationToken invocationToken)
    {
        var code = await CommandLine.CliRunner.RunAsync(body, invocationToken);
        if (code == 130) Console.Error.WriteLine("netlabs: interrupted; the notebooks' processes were stopped.");
        return code;
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
        var lab = new Option<string?>("--lab") { Description = "Grade only submissions for this lab (e.g. 01-web-server); others are reported as not for it." };
        var check = new Command("check", "Grade students' notebooks, each in an isolated scratch copy, and print one table (notebook, lab, passed, failed, errors, time).")
        {
            paths, solutions, output, timeout, lab,
        };
        check.SetAction((result, invocationToken) => Interruptible(async cancellationToken =>
        {
            var submissionPaths = result.GetValue(paths) ?? [];
            var notebooks = ExpandSubmissions(submissionPaths);
            if (notebooks.Count == 0)
            {
                Console.Error.WriteLine("netlabs: no notebooks found (give .ipynb files or folders).");
                return 2;
            }
            var root = FindRepositoryRoot();
            if (root is null)
            {
                Console.Error.WriteLine("netlabs: run this inside the NetLabs repository: submissions are graded against its notebooks/student/ folder.");
                return 2;
            }
            var solutionsFolder = result.GetValue(solutions) is { } given ? Path.GetFullPath(given) : null;
            if (solutionsFolder is not null && !Directory.Exists(solutionsFolder))
            {
                Console.Error.WriteLine($"netlabs: no solutions folder {solutionsFolder}.");
                return 2;
            }
            var onlyLab = result.GetValue(lab);
            if (onlyLab is not null && !NetLabs.Checks.Grading.RemoteGap.Labs.Contains(onlyLab))
            {
                Console.Error.WriteLine($"netlabs: --lab {onlyLab} is no lab ({string.Join(", ", NetLabs.Checks.Grading.RemoteGap.Labs)}).");
                return 2;
            }
            var outputDirectory = Path.GetFullPath(result.GetValue(output)!);
            // Hidden from a graded kernel: the repository (solutions), every submission, and the reports.
            var hidden = submissionPaths.Select(p => Path.GetFullPath(Directory.Exists(p) ? p : Path.GetDirectoryName(Path.GetFullPath(p))!))
                .Concat(notebooks).Append(root).Append(outputDirectory).Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).Distinct().ToList();
            using var grader = new ClassGrader(root, TimeSpan.FromSeconds(result.GetValue(timeout)), solutionsFolder, onlyLab, hidden);
            await grader.PrepareAsync(cancellationToken);
            Console.WriteLine(ClassGrader.Isolated
                ? "grading each notebook in a scratch copy, as nobody, with loopback only, time and memory limits"
                : "grading each notebook in a scratch copy with time and memory limits (not as root on Linux: no separate user, no network namespace)");
            var checks = new List<NotebookCheck>();
            foreach (var notebook in notebooks)
            {
                Console.WriteLine($"checking {Path.GetFileName(notebook)} …");
                checks.Add(await grader.CheckAsync(notebook, outputDirectory, cancellationToken));
            }
            Console.WriteLine();
            Console.Write(StudentNotebooks.Table(checks));
            Console.WriteLine($"{checks.Count} notebook(s) checked; executed copies and HTML in {outputDirectory}");
            return checks.Any(c => c.CouldNotRun) ? 1 : 0;
        }, invocationToken));
        return check;
    }

    /// <summary>The judge of one graded notebook: started by <c>check</c> only, never by hand.</summary>
    private static Command CreateJudge()
    {
        var lab = new Option<string>("--lab") { Required = true };
        var scratch = new Option<string>("--scratch") { Required = true };
        var repository = new Option<string>("--repository") { Required = true };
        var notebook = new Option<string>("--notebook") { Required = true };
        var exchange = new Option<string>("--exchange") { Required = true };
        var home = new Option<string>("--home") { Required = true };
        var timeout = new Option<int>("--timeout") { DefaultValueFactory = _ => 300 };
        var isolated = new Option<bool>("--isolated");
        var hide = new Option<string[]>("--hide") { AllowMultipleArgumentsPerToken = false };
        var judge = new Command("judge", "Internal: judges one graded notebook for `notebooks check`.") { lab, scratch, repository, notebook, exchange, home, timeout, isolated, hide };
        judge.Hidden = true;
        judge.SetAction((result, invocationToken) => CommandLine.CliRunner.RunAsync(cancellationToken =>
            new GradingJudge(result.GetValue(lab)!, result.GetValue(scratch)!, result.GetValue(repository)!, result.GetValue(notebook)!, result.GetValue(exchange)!, result.GetValue(home)!,
                TimeSpan.FromSeconds(result.GetValue(timeout)), result.GetValue(isolated), result.GetValue(hide) ?? []).RunAsync(cancellationToken), invocationToken));
        return judge;
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

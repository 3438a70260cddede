using System.Diagnostics;
using System.Text.Json.Nodes;
using NetLabs.Cli.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// Executes notebooks headless in the same .NET Interactive kernel build users have (dotnet-repl 0.3.259, pinned in
/// .config/dotnet-tools.json beside Microsoft.dotnet-interactive 1.0.712001), writes the executed copies and an HTML
/// rendering of each, and reports every cell that produced an error output.
/// </summary>
public sealed class NotebookRunner(TimeSpan timeoutPerNotebook)
{
    public TimeSpan TimeoutPerNotebook { get; } = timeoutPerNotebook;

    /// <summary>Makes sure the pinned local tools are installed (fast when they are).</summary>
    public static async Task RestoreToolsAsync(string directoryInRepository, CancellationToken cancellationToken)
    {
        var (exitCode, output, _) = await RunAsync("dotnet", ["tool", "restore"], directoryInRepository, TimeSpan.FromMinutes(5), cancellationToken);
        if (exitCode != 0) throw new CliFailure("`dotnet tool restore` failed: " + output.Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim());
    }

    public async Task<NotebookRun> RunAsync(string notebook, string outputDirectory, CancellationToken cancellationToken)
    {
        notebook = Path.GetFullPath(notebook);
        Directory.CreateDirectory(outputDirectory);
        var executed = Path.Combine(Path.GetFullPath(outputDirectory), Path.GetFileName(notebook));
        File.Delete(executed);
        var started = Stopwatch.StartNew();
        // dotnet-repl resolves relative #r paths against its working directory: run it from the notebook's folder,
        // as Jupyter and VS Code do.
        // Files a notebook writes for the reader (the .pcapng of its captures) go beside the executed copy.
        var (exitCode, output, timedOut) = await RunAsync("dotnet",
            ["tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", executed],
            Path.GetDirectoryName(notebook)!, TimeoutPerNotebook, cancellationToken,
            new() { [NetLabs.Capture.CaptureFiles.FolderVariable] = Path.GetFullPath(outputDirectory) });
        started.Stop();

        if (!File.Exists(executed))
            return new NotebookRun(notebook, null, null, exitCode, timedOut, started.Elapsed, [], output);
        var document = JsonNode.Parse(await File.ReadAllTextAsync(executed, cancellationToken))!;
        var html = Path.ChangeExtension(executed, ".html");
        await File.WriteAllTextAsync(html, NotebookHtml.Render(document, Path.GetFileNameWithoutExtension(notebook)), cancellationToken);
        return new NotebookRun(notebook, executed, html, exitCode, timedOut, started.Elapsed, ErrorsIn(document), output);
    }

    /// <summary>Every error output, with the (1-based) cell number and the cell's first line so a reader finds it.</summary>
    public static IReadOnlyList<CellError> ErrorsIn(JsonNode notebook)
    {
        var errors = new List<CellError>();
        var cells = notebook["cells"]!.AsArray();
        for (var i = 0; i < cells.Count; i++)
        {
            foreach (var output in cells[i]!["outputs"]?.AsArray() ?? [])
            {
                if ((string?)output!["output_type"] != "error") continue;
                var firstLine = NotebookHtml.Text(cells[i]!["source"]).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";
                errors.Add(new CellError(i + 1, firstLine, (string?)output["ename"] ?? "Error", (string?)output["evalue"] ?? ""));
            }
        }
        return errors;
    }

    private static async Task<(int ExitCode, string Output, bool TimedOut)> RunAsync(string file, IEnumerable<string> arguments,
        string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken, Dictionary<string, string>? environment = null)
    {
        environment ??= [];
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1";
        // dotnet-repl has no timeout of its own: ChildProcess kills a notebook whose cell never ends.
        var result = await ChildProcess.RunAsync(file, arguments, timeout, workingDirectory, standardInput: "",
            environment: environment, cancellationToken: cancellationToken);
        return (result.ExitCode, result.StandardOutput + result.StandardError, result.TimedOut);
    }
}

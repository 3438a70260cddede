using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using NetLabs.Checks;

namespace NetLabs.Cli.Notebooks;

/// <summary>What checking one submitted student notebook found: its report cards added up, and the cells that errored.</summary>
public sealed record NotebookCheck(string Notebook, string Lab, int Passed, int Failed, int Errors, TimeSpan Duration, string? Problem)
{
    /// <summary>The notebook could not be run at all (no executed copy: the kernel did not start, or it was killed).</summary>
    public bool CouldNotRun => Problem is not null;
}

/// <summary>
/// The student versions of the labs (<c>notebooks/student/</c>): their gap cells, the reference solutions that fill
/// them, and the report cards their check cells print. A gap cell starts with <see cref="GapMarker"/> and a name; its
/// solution is the file <c>&lt;lab&gt;.&lt;name&gt;.csx</c> (just the function, as in the gap).
/// </summary>
public static class StudentNotebooks
{
    public const string GapMarker = "// ✏️ STUDENT GAP:";

    /// <summary>The gap names of a notebook, in order.</summary>
    public static IReadOnlyList<string> Gaps(JsonNode notebook) =>
        CodeCells(notebook).Select(GapName).OfType<string>().ToList();

    /// <summary>Fills every gap with its solution from <paramref name="solutionsFolder"/>; returns the gaps filled.</summary>
    /// <exception cref="FileNotFoundException">A gap has no solution file.</exception>
    public static IReadOnlyList<string> InjectSolutions(JsonNode notebook, string solutionsFolder)
    {
        var filled = new List<string>();
        foreach (var cell in CodeCells(notebook))
        {
            if (GapName(cell) is not { } gap) continue;
            var solution = Directory.GetFiles(solutionsFolder, $"*.{gap}.csx").Order(StringComparer.Ordinal).FirstOrDefault()
                ?? throw new FileNotFoundException($"No solution for the gap '{gap}' in {solutionsFolder} (expected a file <lab>.{gap}.csx).");
            cell["source"] = $"{GapMarker} {gap}\n{File.ReadAllText(solution).TrimEnd()}\n";
            filled.Add(gap);
        }
        return filled;
    }

    /// <summary>Every report card an executed notebook shows, as (lab, passed, failed); one per output.</summary>
    public static IReadOnlyList<(string Lab, int Passed, int Failed)> ReportCards(JsonNode executed)
    {
        var cards = new List<(string, int, int)>();
        foreach (var cell in CodeCells(executed))
        {
            foreach (var output in cell["outputs"]?.AsArray() ?? [])
            {
                var data = output!["data"]?.AsObject();
                var text = data is null ? NotebookHtml.Text(output["text"])
                    : string.Concat(new[] { "text/html", "text/plain" }.Select(type => NotebookHtml.Text(data[type])));
                if (ReportCard.TryParseSummary(text, out var lab, out var passed, out var failed)) cards.Add((lab, passed, failed));
            }
        }
        return cards;
    }

    /// <summary>
    /// Runs one submitted notebook headless: a hidden copy in <paramref name="studentFolder"/> (so its relative
    /// <c>#r "../../lib/…"</c> resolves), solutions injected if asked, executed, the copy deleted, the report cards read.
    /// The executed notebook and its HTML go to <paramref name="outputFolder"/> under the submission's own name.
    /// </summary>
    public static async Task<NotebookCheck> CheckAsync(NotebookRunner runner, string notebook, string studentFolder, string? solutionsFolder,
        string outputFolder, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(notebook);
        JsonNode document;
        try
        {
            document = JsonNode.Parse(await File.ReadAllTextAsync(notebook, cancellationToken))!;
            if (solutionsFolder is not null) InjectSolutions(document, solutionsFolder);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidOperationException or NullReferenceException)
        {
            return new NotebookCheck(name, "?", 0, 0, 0, TimeSpan.Zero, $"not a notebook that can be read: {e.Message}");
        }

        var scratch = Path.Combine(studentFolder, $".check-{Guid.NewGuid():N}.ipynb");
        var scratchOutput = Directory.CreateTempSubdirectory("netlabs-check-");
        try
        {
            await File.WriteAllTextAsync(scratch, document.ToJsonString(), cancellationToken);
            var run = await runner.RunAsync(scratch, scratchOutput.FullName, cancellationToken);
            if (run.ExecutedNotebook is null)
                return new NotebookCheck(name, "?", 0, 0, 0, run.Duration, $"could not be run ({(run.TimedOut ? "timed out" : $"exit code {run.ExitCode}")})");
            Directory.CreateDirectory(outputFolder);
            var executedCopy = Path.Combine(outputFolder, name);
            File.Copy(run.ExecutedNotebook, executedCopy, overwrite: true);
            if (run.ExecutedHtml is not null) File.Copy(run.ExecutedHtml, Path.ChangeExtension(executedCopy, ".html"), overwrite: true);

            var cards = ReportCards(JsonNode.Parse(await File.ReadAllTextAsync(run.ExecutedNotebook, cancellationToken))!);
            var lab = cards.Count == 0 ? "?" : string.Join("+", cards.Select(c => c.Lab).Distinct());
            return new NotebookCheck(name, lab, cards.Sum(c => c.Passed), cards.Sum(c => c.Failed), run.Errors.Count, run.Duration, null);
        }
        finally
        {
            File.Delete(scratch);
            scratchOutput.Delete(recursive: true);
        }
    }

    /// <summary>The summary table <c>netlabs notebooks check</c> prints: one row per notebook.</summary>
    public static string Table(IReadOnlyList<NotebookCheck> checks)
    {
        var width = Math.Max("notebook".Length, checks.Count == 0 ? 0 : checks.Max(c => c.Notebook.Length));
        var labWidth = Math.Max("lab".Length, checks.Count == 0 ? 0 : checks.Max(c => c.Lab.Length));
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"notebook".PadRight(width)}  {"lab".PadRight(labWidth)}  passed  failed  errors     time");
        foreach (var c in checks)
        {
            table.Append(CultureInfo.InvariantCulture, $"{c.Notebook.PadRight(width)}  {c.Lab.PadRight(labWidth)}  {c.Passed,6}  {c.Failed,6}  {c.Errors,6}  {c.Duration.TotalSeconds,5:0.0} s");
            if (c.Problem is not null) table.Append("  ").Append(c.Problem);
            table.AppendLine();
        }
        return table.ToString();
    }

    private static IEnumerable<JsonNode> CodeCells(JsonNode notebook) =>
        notebook["cells"]!.AsArray().OfType<JsonNode>().Where(c => (string?)c["cell_type"] == "code");

    private static string? GapName(JsonNode cell)
    {
        var first = NotebookHtml.Text(cell["source"]).Split('\n')[0].Trim();
        return first.StartsWith(GapMarker, StringComparison.Ordinal) ? first[GapMarker.Length..].Trim() : null;
    }
}

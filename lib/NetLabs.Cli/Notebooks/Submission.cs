using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NetLabs.Cli.Notebooks;

/// <summary>The notebook that is actually graded: the repository's student notebook with the submission's gap cells.</summary>
public sealed record GradedNotebook(string Lab, JsonNode Notebook);

/// <summary>
/// Turns a submitted notebook into the notebook that is graded, nbgrader's way: only the gap cells (found by their
/// marker, <c>// ✏️ STUDENT GAP: name</c>) are taken from the submission; every other cell — setup, story, the cells
/// around the gap — comes from the repository's student notebook, and each check cell is replaced by the cell that
/// hands the student's function to the checker's judge (<c>StudentHost.ServeAsync</c>). A submission's own check
/// cells, outputs and extra cells are never run.
/// </summary>
public static partial class Submission
{
    public const string CheckMarker = "// ✅ CHECK:";
    private const long MaxSize = 20 << 20;

    /// <summary>A check cell's call: <c>&lt;Lab&gt;StudentChecks.Run…Async(the gap's functions…, other values…, cts.Token)</c>.</summary>
    [GeneratedRegex(@"\b\w+StudentChecks\.Run\w*Async\(([^)]*)\)")]
    private static partial Regex BatteryCall();

    /// <summary>The graded notebook, or the one-line reason the submission cannot be graded.</summary>
    public static (GradedNotebook? Graded, string? Problem) Prepare(string submission, string studentFolder, string? solutionsFolder, string? lab)
    {
        JsonArray cells;
        try
        {
            if (new FileInfo(submission).Length > MaxSize) return (null, $"not a notebook: larger than {MaxSize >> 20} MB");
            cells = JsonNode.Parse(File.ReadAllText(submission))?["cells"] as JsonArray ?? throw new InvalidDataException("no \"cells\" list");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException)
        {
            return (null, $"not a notebook that can be read: {OneLine(e.Message)}");
        }
        var submitted = cells.OfType<JsonObject>().Where(c => (string?)c["cell_type"] == "code")
            .Select(c => (Gap: StudentNotebooks.GapName(c), Source: NotebookHtml.Text(c["source"]))).Where(c => c.Gap is not null).ToList();
        if (submitted.Count == 0) return (null, "no gap: no cell starts with \"// ✏️ STUDENT GAP: …\"");

        var labs = NotebookFiles.In(studentFolder).Select(path => (Lab: Path.GetFileNameWithoutExtension(path), Notebook: JsonNode.Parse(File.ReadAllText(path))!)).ToList();
        var owner = labs.FirstOrDefault(l => StudentNotebooks.Gaps(l.Notebook).Intersect(submitted.Select(s => s.Gap!)).Any());
        if (owner.Notebook is null) return (null, $"not a NetLabs student notebook: its gaps ({string.Join(", ", submitted.Select(s => s.Gap).Distinct())}) belong to no lab");
        if (lab is not null && owner.Lab != lab) return (null, $"not for lab {lab}: its gaps are those of {owner.Lab}");
        // A lab's report card counts only when the judge runs its batteries (Checks/Grading); a lab without them would
        // run its card in the student's own notebook, where the student's code could forge it, so it earns no marks here.
        if (!NetLabs.Checks.Grading.RemoteGap.Labs.Contains(owner.Lab))
            return (null, $"lab {owner.Lab} has no automatic grading yet: its report card runs only in the student's own notebook, which cannot be trusted for marks");

        var graded = owner.Notebook.DeepClone();
        var gapSources = string.Join("\n", StudentNotebooks.CodeCells(owner.Notebook).Where(c => StudentNotebooks.GapName(c) is not null).Select(c => NotebookHtml.Text(c["source"])));
        foreach (var cell in graded["cells"]!.AsArray().OfType<JsonObject>().Where(c => (string?)c["cell_type"] == "code"))
        {
            cell["outputs"] = new JsonArray();
            cell["execution_count"] = null;
            if (StudentNotebooks.GapName(cell) is { } gap)
            {
                var copies = submitted.Where(s => s.Gap == gap).ToList();
                if (solutionsFolder is null && copies.Count == 0) return (null, $"no gap '{gap}' (its cell, starting \"{StudentNotebooks.GapMarker} {gap}\", is missing)");
                if (solutionsFolder is null && copies.Count > 1) return (null, $"{copies.Count} copies of the gap '{gap}': keep one");
                cell["source"] = solutionsFolder is null ? copies[0].Source : StudentNotebooks.SolutionCell(gap, solutionsFolder);
            }
            else if (NotebookHtml.Text(cell["source"]).StartsWith(CheckMarker, StringComparison.Ordinal))
            {
                var source = NotebookHtml.Text(cell["source"]);
                var call = BatteryCall().Match(source);
                if (!call.Success) throw new CommandLine.CliFailure($"notebooks/student/{owner.Lab}.ipynb has a check cell the checker does not know: {OneLine(source)}");
                // The judge gets the functions the repository's gap cells declare; the other arguments (the clip, the
                // notebook's token) are the judge's own business.
                var functions = call.Groups[1].Value.Split(',').Select(a => a.Trim()).Where(a => Regex.IsMatch(a, @"^\w+$") && Regex.IsMatch(gapSources, $@"\b{a}\s*\(")).ToList();
                if (functions.Count == 0) throw new CommandLine.CliFailure($"notebooks/student/{owner.Lab}.ipynb has a check cell that passes no function of its gaps: {OneLine(source)}");
                cell["source"] = $"{source.Split('\n')[0]}\nawait NetLabs.Checks.Grading.StudentHost.ServeAsync({string.Join(", ", functions)})";
            }
        }
        return (new GradedNotebook(owner.Lab, graded), null);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}

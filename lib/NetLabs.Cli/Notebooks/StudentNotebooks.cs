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

    /// <summary>What the judge adds to a grade (the check cell never ran, the notebook was stopped at the time limit).</summary>
    public string? Note { get; init; }
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
            cell["source"] = SolutionCell(gap, solutionsFolder);
            filled.Add(gap);
        }
        return filled;
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
            if ((c.Problem ?? c.Note) is { } remark) table.Append("  ").Append(remark);
            table.AppendLine();
        }
        return table.ToString();
    }

    internal static IEnumerable<JsonNode> CodeCells(JsonNode notebook) =>
        notebook["cells"]!.AsArray().OfType<JsonNode>().Where(c => (string?)c["cell_type"] == "code");

    /// <summary>The gap cell filled with its reference solution, <c>&lt;lab&gt;.&lt;gap&gt;.csx</c> from <paramref name="solutionsFolder"/>.</summary>
    /// <exception cref="FileNotFoundException">The gap has no solution file.</exception>
    public static string SolutionCell(string gap, string solutionsFolder)
    {
        var solution = Directory.GetFiles(solutionsFolder, $"*.{gap}.csx").Order(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new FileNotFoundException($"No solution for the gap '{gap}' in {solutionsFolder} (expected a file <lab>.{gap}.csx).");
        return $"{GapMarker} {gap}\n{File.ReadAllText(solution).TrimEnd()}\n";
    }

    /// <summary>The gap's name when the cell's first line is the gap marker, else null.</summary>
    public static string? GapName(JsonNode cell)
    {
        var first = NotebookHtml.Text(cell["source"]).Split('\n')[0].Trim();
        return first.StartsWith(GapMarker, StringComparison.Ordinal) ? first[GapMarker.Length..].Trim() : null;
    }
}

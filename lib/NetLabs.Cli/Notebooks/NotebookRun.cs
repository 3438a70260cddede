namespace NetLabs.Cli.Notebooks;

/// <summary>An error output of one executed cell.</summary>
public sealed record CellError(int CellNumber, string FirstLine, string Name, string Message)
{
    public override string ToString() => $"cell {CellNumber} (`{FirstLine}`): {Name}: {Message}";
}

/// <summary>What happened when one notebook was executed headless in the .NET Interactive kernel.</summary>
public sealed record NotebookRun(string Notebook, string? ExecutedNotebook, string? ExecutedHtml, int ExitCode, bool TimedOut,
    TimeSpan Duration, IReadOnlyList<CellError> Errors, string RunnerOutput)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut && Errors.Count == 0 && ExecutedNotebook is not null;

    /// <summary>One paragraph naming the notebook, each failing cell and its error: what a failing test prints.</summary>
    public string Describe()
    {
        var name = Path.GetFileName(Notebook);
        if (Succeeded) return $"{name}: ok in {Duration.TotalSeconds:0.0} s";
        var lines = new List<string> { $"{name}: FAILED (exit code {ExitCode}{(TimedOut ? ", timed out and killed" : "")}, {Duration.TotalSeconds:0.0} s)" };
        lines.AddRange(Errors.Select(e => "  " + e));
        if (Errors.Count == 0)
            lines.Add("  no cell reported an error; the runner said:\n" + RunnerOutput[Math.Max(0, RunnerOutput.Length - 3000)..]);
        return string.Join(Environment.NewLine, lines);
    }
}

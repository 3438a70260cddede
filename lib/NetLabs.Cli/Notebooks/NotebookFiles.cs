namespace NetLabs.Cli.Notebooks;

public static class NotebookFiles
{
    /// <summary>The .ipynb files directly in a folder, in name order; hidden ones (".name") are skipped.</summary>
    public static IEnumerable<string> In(string folder) =>
        Directory.GetFiles(folder, "*.ipynb")
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .Order(StringComparer.Ordinal);
}

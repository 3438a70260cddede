namespace NetLabs.Tests.Support;

/// <summary>Folders of this repository, found from the test binary's location.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    public static string Data => Path.Combine(Root, "data");
    public static string Notebooks => Path.Combine(Root, "notebooks");
    public static string Artifacts => Path.Combine(Root, "artifacts");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NetLabs.Lib.sln"))) return dir.FullName;
        throw new InvalidOperationException("NetLabs.Lib.sln not found above " + AppContext.BaseDirectory);
    }
}

using System.Xml.Linq;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// What a graded kernel's home starts with (Linux as root, where it runs as nobody with a home of its own): the
/// copies `dotnet tool run` and the library's offline, no-op restore need from ours, and nothing else.
/// </summary>
public static class KernelHome
{
    public static void Prepare(string template)
    {
        var home = Environment.GetEnvironmentVariable("DOTNET_CLI_HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        // `dotnet tool run` finds the pinned kernel through the cache `dotnet tool restore` wrote (paths into the package folder).
        var cache = Path.Combine(home, ".dotnet", "toolResolverCache");
        if (Directory.Exists(cache)) ClassGrader.CopyFolder(cache, Path.Combine(template, ".dotnet", "toolResolverCache"), []);
        // The same package sources as ours keep the restore a no-op; credentials, API keys and proxy passwords stay with us.
        var config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "NuGet", "NuGet.Config");
        if (!File.Exists(config)) return;
        var document = XDocument.Load(config);
        document.Root?.Elements().Where(e => e.Name.LocalName is "packageSourceCredentials" or "apikeys").Remove();
        document.Root?.Elements("config").Elements("add").Where(e => ((string?)e.Attribute("key"))?.Contains("password", StringComparison.OrdinalIgnoreCase) == true).Remove();
        var copy = Path.Combine(template, ".nuget", "NuGet", "NuGet.Config");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        document.Save(copy);
    }
}

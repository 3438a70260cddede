namespace NetLabs.Tests.Web;

/// <summary>
/// A throw-away folder tree: www/ (the root served) with a few files, and secret.txt beside it, outside
/// the root, which no request may ever reach.
/// </summary>
public sealed class TempSite : IDisposable
{
    public const string Secret = "TOP-SECRET-OUTSIDE-THE-ROOT";

    public TempSite()
    {
        Folder = Directory.CreateTempSubdirectory("netlabs-web-").FullName;
        Root = Path.Combine(Folder, "www");
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        Directory.CreateDirectory(Path.Combine(Root, "empty"));
        Directory.CreateDirectory(Path.Combine(Root, "a b"));
        File.WriteAllText(Path.Combine(Root, "index.html"), "<h1>root index</h1>");
        File.WriteAllText(Path.Combine(Root, "hello.txt"), "hello");
        File.WriteAllText(Path.Combine(Root, "sub", "index.html"), "<h1>sub index</h1>");
        File.WriteAllText(Path.Combine(Root, "a b", "caf\u00e9.txt"), "accents");
        File.WriteAllText(Path.Combine(Root, ".hidden"), "hidden");
        File.WriteAllText(Path.Combine(Folder, "secret.txt"), Secret);
        Directory.CreateDirectory(Path.Combine(Folder, "outside"));
        File.WriteAllText(Path.Combine(Folder, "outside", "index.html"), Secret);
    }

    public string Folder { get; }
    public string Root { get; }

    /// <summary>Writes a file of <paramref name="size"/> pseudo-random bytes under the root; returns its bytes.</summary>
    public byte[] AddFile(string relative, int size, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return bytes;
    }

    /// <summary>Symbolic links out of the root and inside it (Linux/macOS).</summary>
    public void AddSymbolicLinks()
    {
        File.CreateSymbolicLink(Path.Combine(Root, "to-secret.txt"), Path.Combine(Folder, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(Root, "to-secret-relative.txt"), "../secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(Root, "outside-dir"), Path.Combine(Folder, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "etc"), "/etc");
        File.CreateSymbolicLink(Path.Combine(Root, "inside-link.txt"), "hello.txt");
        Directory.CreateSymbolicLink(Path.Combine(Root, "sub-link"), "sub");
        File.CreateSymbolicLink(Path.Combine(Root, "loop1"), "loop2");
        File.CreateSymbolicLink(Path.Combine(Root, "loop2"), "loop1");
        File.CreateSymbolicLink(Path.Combine(Root, "dangling"), "does-not-exist");
        // A link inside the root whose target walks through another link that leaves it.
        File.CreateSymbolicLink(Path.Combine(Root, "sneaky.txt"), "outside-dir/index.html");
        Directory.CreateDirectory(Path.Combine(Root, "empty-with-link"));
        File.CreateSymbolicLink(Path.Combine(Root, "empty-with-link", "index.html"), Path.Combine(Folder, "secret.txt"));
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

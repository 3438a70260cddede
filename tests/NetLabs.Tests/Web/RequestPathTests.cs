using NetLabs.Web;

namespace NetLabs.Tests.Web;

public class RequestPathTests : IDisposable
{
    private readonly TempSite _site = new();
    private readonly string _root;

    public RequestPathTests()
    {
        if (!OperatingSystem.IsWindows()) _site.AddSymbolicLinks();
        _root = RequestPath.RealPath(_site.Root)!;
    }

    public void Dispose() => _site.Dispose();

    /// <summary>Hostile targets: none may resolve to a file, and each gets a 4xx.</summary>
    [Theory]
    [InlineData("/../secret.txt", 403)]
    [InlineData("/../../../../../../etc/passwd", 403)]
    [InlineData("/sub/../../secret.txt", 403)]
    [InlineData("/sub/../hello.txt", 403)]                      // even a harmless "..": never interpreted
    [InlineData("/%2e%2e/secret.txt", 403)]
    [InlineData("/%2E%2E/%2e%2e/etc/passwd", 403)]
    [InlineData("/.%2e/secret.txt", 403)]
    [InlineData("/%2e./secret.txt", 403)]
    [InlineData("/..%2fsecret.txt", 400)]                       // encoded slash
    [InlineData("/..%2Fsecret.txt", 400)]
    [InlineData("/%2e%2e%2fsecret.txt", 400)]
    [InlineData("/sub%2f..%2f..%2fsecret.txt", 400)]
    [InlineData("/..%5csecret.txt", 400)]                       // encoded backslash
    [InlineData("/..\\secret.txt", 400)]                        // backslash
    [InlineData("/sub\\..\\..\\secret.txt", 400)]
    [InlineData("/hello.txt%00.html", 400)]                     // NUL
    [InlineData("/%00", 400)]
    [InlineData("/hello%0a.txt", 400)]                          // control byte
    [InlineData("/%c0%ae%c0%ae/secret.txt", 400)]               // overlong UTF-8 for "."
    [InlineData("/%e0%80%ae%e0%80%ae/secret.txt", 400)]
    [InlineData("/%ff", 400)]                                   // not UTF-8
    [InlineData("/%zz", 400)]                                   // malformed escape
    [InlineData("/%2", 400)]
    [InlineData("/C:/Windows/win.ini", 400)]                    // drive letter
    [InlineData("/hello.txt::$DATA", 400)]                      // NTFS stream
    [InlineData("etc/passwd", 400)]                             // not absolute
    [InlineData("*", 400)]
    [InlineData("//bin/sh", 404)]                               // absolute path: still inside the root
    [InlineData("///bin/sh", 404)]
    [InlineData("/bin/sh", 404)]
    [InlineData("http://evil/../secret.txt", 403)]              // absolute-form
    [InlineData("/.hidden", 404)]
    [InlineData("/%2ehidden", 404)]
    [InlineData("/no-such-file.html", 404)]
    [InlineData("/empty/", 404)]                                // folder without index.html
    public void Hostile_and_missing_paths_are_refused(string target, int status)
    {
        var resolution = RequestPath.Resolve(_root, target);
        Assert.Equal(status, resolution.Status);
        Assert.Null(resolution.FilePath);
        Assert.False(string.IsNullOrEmpty(resolution.Reason));
    }

    [SkippableTheory]
    [InlineData("/to-secret.txt")]
    [InlineData("/to-secret-relative.txt")]
    [InlineData("/outside-dir/index.html")]
    [InlineData("/outside-dir/")]
    [InlineData("/etc/passwd")]
    [InlineData("/etc/hostname")]
    [InlineData("/sneaky.txt")]
    [InlineData("/empty-with-link/")]
    public void Symbolic_links_leading_out_are_forbidden(string target)
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var resolution = RequestPath.Resolve(_root, target);
        Assert.Equal(403, resolution.Status);
        Assert.True(resolution.Hostile);
        Assert.Null(resolution.FilePath);
    }

    [SkippableTheory]
    [InlineData("/loop1", 404)]
    [InlineData("/dangling", 404)]
    public void Broken_links_are_not_found(string target, int status)
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        Assert.Equal(status, RequestPath.Resolve(_root, target).Status);
    }

    [Theory]
    [InlineData("/hello.txt", "hello.txt")]
    [InlineData("/hello.txt?download=1#top", "hello.txt")]
    [InlineData("/./hello.txt", "hello.txt")]
    [InlineData("//hello.txt", "hello.txt")]
    [InlineData("/", "index.html")]
    [InlineData("/sub/", "sub/index.html")]
    [InlineData("/sub/index.html", "sub/index.html")]
    [InlineData("/a%20b/caf%C3%A9.txt", "a b/caf\u00e9.txt")]
    [InlineData("/a b/caf\u00e9.txt", "a b/caf\u00e9.txt")]        // already decoded (from a raw-socket student)
    [InlineData("http://localhost:6789/hello.txt", "hello.txt")]
    public void Good_paths_resolve_inside_the_root(string target, string relative)
    {
        var resolution = RequestPath.Resolve(_root, target);
        Assert.Equal(200, resolution.Status);
        Assert.Equal(Path.Combine(_root, relative), resolution.FilePath);
    }

    [SkippableTheory]
    [InlineData("/inside-link.txt", "hello.txt")]
    [InlineData("/sub-link/", "sub/index.html")]
    public void Links_that_stay_inside_are_followed(string target, string relative)
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        Assert.Equal(Path.Combine(_root, relative), RequestPath.Resolve(_root, target).FilePath);
    }

    [Theory]
    [InlineData("/sub", "/sub/")]
    [InlineData("/sub?x=1", "/sub/?x=1")]
    [InlineData("/a%20b", "/a%20b/")]
    public void A_folder_without_slash_is_redirected(string target, string location)
    {
        var resolution = RequestPath.Resolve(_root, target);
        Assert.Equal(301, resolution.Status);
        Assert.Equal(location, resolution.Location);
    }

    [Fact]
    public void Is_under_compares_whole_segments()
    {
        Assert.True(RequestPath.IsUnder("/srv/www/a", "/srv/www"));
        Assert.True(RequestPath.IsUnder("/srv/www", "/srv/www/"));
        Assert.False(RequestPath.IsUnder("/srv/www2/a", "/srv/www"));
        Assert.False(RequestPath.IsUnder("/srv", "/srv/www"));
    }

    [SkippableFact]
    public void Real_path_follows_links_like_realpath()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        Assert.Equal(Path.Combine(RequestPath.RealPath(_site.Folder)!, "secret.txt"), RequestPath.RealPath(Path.Combine(_site.Root, "to-secret-relative.txt")));
        Assert.Equal(Path.Combine(_root, "sub", "index.html"), RequestPath.RealPath(Path.Combine(_site.Root, "sub-link", "..", "sub", "index.html")));
        Assert.Null(RequestPath.RealPath(Path.Combine(_site.Root, "loop1")));
        Assert.Null(RequestPath.RealPath(Path.Combine(_site.Root, "nope", "x")));
    }
}

using NetLabs.Tests.Support;

namespace NetLabs.Tests.Proxy;

/// <summary><c>netlabs proxy serve</c> and <c>netlabs proxy get</c> on loopback: a line per request, one-line errors.</summary>
public sealed class ProxyCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Serve_prints_a_line_per_request_and_get_shows_miss_then_hit()
    {
        await using var web = NetlabsTool.Start("web", "serve", "--port", "0", "--root", Path.Combine(RepoPaths.Data, "www"));
        var webLine = await web.WaitForLineAsync(l => l.Contains("http://127.0.0.1:"), Wait);
        var page = System.Text.RegularExpressions.Regex.Match(webLine, @"http://127\.0\.0\.1:\d+/").Value + "images/logo.png";
        await using var proxy = NetlabsTool.Start("proxy", "serve", "--port", "0", "--cache-size", "1MB");
        var proxyLine = await proxy.WaitForLineAsync(l => l.StartsWith("caching proxy at"), Wait);
        var proxyAddress = System.Text.RegularExpressions.Regex.Match(proxyLine, @"127\.0\.0\.1:\d+").Value;
        Assert.Contains("of 1,048,576 bytes", proxyLine);

        var saved = Path.Combine(Path.GetTempPath(), $"netlabs-proxy-{Guid.NewGuid():N}.png");
        try
        {
            var miss = await NetlabsTool.RunAsync(Wait, "proxy", "get", page, "-x", proxyAddress, "-o", saved);
            Assert.True(miss.ExitCode == 0, miss.ToString());
            Assert.Contains($"GET {page} HTTP/1.1", miss.StandardOutput); // absolute form: the request line a proxy gets
            Assert.Contains("X-Cache: MISS", miss.StandardOutput);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Data, "www", "images", "logo.png")), await File.ReadAllBytesAsync(saved));
            var hit = await NetlabsTool.RunAsync(Wait, "proxy", "get", page, "-x", proxyAddress);
            Assert.Contains("X-Cache: HIT", hit.StandardOutput);
        }
        finally
        {
            File.Delete(saved);
        }
        await proxy.WaitForLineAsync(l => l.Contains($"GET {page} 200 HIT 1667 B"), Wait);
    }

    [Theory]
    [InlineData(new[] { "proxy", "serve", "--cache-size", "lots" }, "netlabs: --cache-size 'lots' is not a size (e.g. 64MB, 512KB, 0).")]
    [InlineData(new[] { "proxy", "serve", "--allow", "classroom" }, "netlabs: --allow 'classroom' is not an address or a CIDR range (e.g. 10.0.0.7 or 10.0.0.0/24).")]
    [InlineData(new[] { "proxy", "serve", "--bind", "10.254.254.254", "--port", "0" }, "netlabs: 10.254.254.254 is not an address of this machine.")]
    [InlineData(new[] { "proxy", "get", "ftp://example.org/" }, "netlabs: 'ftp://example.org/' is not an http:// URL.")]
    [InlineData(new[] { "proxy", "get", "http://example.org/", "-x", "nowhere" }, "netlabs: --proxy 'nowhere' is not host:port (e.g. 10.0.0.1:8888).")]
    public async Task Mistakes_get_one_line_and_a_non_zero_exit(string[] arguments, string line)
    {
        var result = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith(line, result.StandardError.Trim());
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }
}

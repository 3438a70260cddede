using System.Text;
using NetLabs.Proxy;
using NetLabs.Tests.Support;
using NetLabs.Tests.Web;
using static NetLabs.Tests.Proxy.ProxyTesting;

namespace NetLabs.Tests.Proxy;

/// <summary>
/// Real clients through our proxy (curl -x, wget, Python urllib, headless Chromium) to real origins (our web server,
/// nginx, python3 -m http.server). The cache is proven by the origins' own access logs, not by our headers alone.
/// </summary>
public class ProxyInteropTests : IDisposable
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(60);
    private readonly OriginSite _site = new();
    private readonly string _scratch = Directory.CreateTempSubdirectory("netlabs-proxy-peers-").FullName;

    public void Dispose()
    {
        _site.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    private static async Task<ProcessResult> CurlAsync(params string[] arguments)
    {
        var curl = ExternalProcess.Require("curl", "curl");
        return await ExternalProcess.RunAsync(curl, ["-sS", "--max-time", "20", .. arguments], PeerTimeout);
    }

    [SkippableTheory]
    [InlineData("--http1.1")]
    [InlineData("--http1.0")]
    public async Task Curl_through_the_proxy_gets_exact_bytes_and_the_second_time_a_hit(string version)
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        var output = Path.Combine(_scratch, "data.bin");
        var headers = Path.Combine(_scratch, "headers.txt");
        foreach (var expected in new[] { "MISS", "HIT" })
        {
            var result = await CurlAsync(version, "-x", proxy.Url.ToString(), "-o", output, "-D", headers, new Uri(origin.Url, "data.bin").ToString());
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(_site.Binary, await File.ReadAllBytesAsync(output));
            Assert.Contains($"X-Cache: {expected}\r\n", await File.ReadAllTextAsync(headers));
        }
        Assert.True(await Poll.UntilAsync(() => OriginRequests(origin) >= 1, Wait));
        Assert.Equal(1, OriginRequests(origin));
    }

    [SkippableFact]
    public async Task Curl_sees_404_passed_through_and_502_for_a_name_that_does_not_resolve()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        var missing = await CurlAsync("-x", proxy.Url.ToString(), "-o", "/dev/null", "-w", "%{http_code}", new Uri(origin.Url, "nope.html").ToString());
        Assert.Equal("404", missing.StandardOutput.Trim());
        var unknown = await CurlAsync("-x", proxy.Url.ToString(), "-w", "\n%{http_code}", "http://no-such-host.invalid/");
        Assert.EndsWith("502", unknown.StandardOutput.Trim());
        Assert.Contains("does not resolve", unknown.StandardOutput);
    }

    [SkippableFact]
    public async Task Wget_with_http_proxy_downloads_through_the_proxy()
    {
        var wget = ExternalProcess.Require("wget", "wget");
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        var output = Path.Combine(_scratch, "logo.png");
        var result = await ExternalProcess.RunAsync(wget, ["-q", "-O", output, "--tries=1", "--timeout=20", new Uri(origin.Url, "logo.png").ToString()], PeerTimeout,
            environment: new Dictionary<string, string> { ["http_proxy"] = proxy.Url.ToString(), ["no_proxy"] = "" });
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(_site.Image, await File.ReadAllBytesAsync(output));
        Assert.True(await Poll.UntilAsync(() => proxy.Log.Any(e => e.Url.EndsWith("/logo.png") && e.Cache == CacheResult.Miss), Wait));
    }

    [SkippableFact]
    public async Task Python_urllib_with_a_proxy_handler_reads_through_the_proxy_from_nginx_which_sees_one_request()
    {
        var python = ExternalProcess.Require("python3", "python3");
        var accessLog = Path.Combine(_scratch, "nginx-access.log");
        await using var nginx = await NginxServer.StartAsync(_site.Root, $"access_log {accessLog};");
        await using var proxy = StartProxy();
        var script = $$"""
            import hashlib, urllib.request
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "{{proxy.Url}}"}))
            for _ in range(3):
                with opener.open("http://127.0.0.1:{{nginx.Port}}/data.bin", timeout=20) as r:
                    print(r.status, r.headers["X-Cache"], hashlib.sha256(r.read()).hexdigest())
            """;
        var result = await ExternalProcess.RunAsync(python, ["-c", script], PeerTimeout);
        Assert.Equal(0, result.ExitCode);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_site.Binary));
        Assert.Equal([$"200 MISS {sha}", $"200 HIT {sha}", $"200 HIT {sha}"], result.StandardOutput.Trim().Split('\n'));
        Assert.True(await Poll.UntilAsync(() => File.Exists(accessLog) && File.ReadAllLines(accessLog).Length >= 1, Wait));
        await Task.Delay(200); // nginx writes each line at once; a late second line would show here
        Assert.Single(File.ReadAllLines(accessLog), l => l.Contains("/data.bin"));
    }

    [SkippableFact]
    public async Task Python_http_server_as_origin_counts_one_request_for_two_curl_downloads()
    {
        var python = ExternalProcess.Require("python3", "python3");
        await using var proxy = StartProxy();
        var port = PeerPorts.Free();
        await using var origin = BackgroundProcess.Start(python, ["-u", "-m", "http.server", port.ToString(), "--bind", "127.0.0.1", "--directory", _site.Root]);
        using (var deadline = new CancellationTokenSource(Wait)) await PeerPorts.WaitUntilListeningAsync(origin, port, deadline.Token);
        var output = Path.Combine(_scratch, "index.html");
        for (var i = 0; i < 2; i++)
        {
            var result = await CurlAsync("-x", proxy.Url.ToString(), "-o", output, $"http://127.0.0.1:{port}/index.html");
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_site.Root, "index.html")), await File.ReadAllBytesAsync(output));
        }
        // python's http.server logs "GET /index.html HTTP/1.1" 200 for each request it answers.
        Assert.True(await Poll.UntilAsync(() => origin.Output.Contains("GET /index.html"), Wait));
        Assert.Equal(1, origin.Output.Split('\n').Count(l => l.Contains("\"GET /index.html")));
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Hits == 1, Wait));
    }

    [SkippableFact]
    public async Task Headless_chromium_loads_a_page_with_its_image_through_the_proxy_and_a_second_browser_gets_it_from_the_cache()
    {
        var chromium = ExternalProcess.Find("chromium") ?? ExternalProcess.Find("chromium-browser");
        Skip.If(chromium is null, "chromium is not installed (apt-get install chromium); .ci/run installs it.");
        var www = Path.Combine(RepoPaths.Data, "www");
        await using var origin = StartWebOrigin(www);
        await using var proxy = StartProxy();
        byte[]? screenshot = null;
        for (var run = 0; run < 2; run++)
        {
            var profile = Directory.CreateTempSubdirectory("netlabs-chromium-").FullName; // a fresh browser: its own cache is empty
            var file = Path.Combine(_scratch, $"page{run}.png");
            try
            {
                var result = await ExternalProcess.RunAsync(chromium!,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    $"--proxy-server={proxy.Url.ToString().TrimEnd('/')}", "--proxy-bypass-list=<-loopback>",
                    $"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=800,600", $"--screenshot={file}",
                    new Uri(origin.Url, "HelloWorld.html").ToString(),
                ], PeerTimeout);
                Assert.True(File.Exists(file), result.ToString());
                screenshot = await File.ReadAllBytesAsync(file);
            }
            finally
            {
                try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
            }
        }
        Assert.True(await Poll.UntilAsync(() => proxy.Log.Count(e => e.Url.EndsWith("/images/logo.png")) == 2, Wait));
        Assert.Contains(proxy.Log, e => e.Url.EndsWith("/images/logo.png") && e.Cache == CacheResult.Miss);
        Assert.Contains(proxy.Log, e => e.Url.EndsWith("/images/logo.png") && e.Cache == CacheResult.Hit);
        Assert.Equal(1, origin.Log.Count(e => e.Target == "/images/logo.png"));

        var pixels = PngPixels.Decode(screenshot!);
        var logoBlue = pixels.Count((r, g, b) => Math.Abs(r - 0x1E) < 8 && Math.Abs(g - 0x90) < 8 && Math.Abs(b - 0xFF) < 8);
        Assert.True(logoBlue > 10_000, $"only {logoBlue} logo-blue pixels in the screenshot of the cached page");
        Directory.CreateDirectory(RepoPaths.Artifacts);
        await File.WriteAllBytesAsync(Path.Combine(RepoPaths.Artifacts, "proxy-chromium-helloworld.png"), screenshot!);
    }

    [SkippableFact]
    public async Task Curl_conditional_requests_get_304_from_the_cache_and_nginx_sees_only_the_first()
    {
        var accessLog = Path.Combine(_scratch, "nginx-access.log");
        await using var nginx = await NginxServer.StartAsync(_site.Root, $"access_log {accessLog};");
        await using var proxy = StartProxy();
        var url = $"http://127.0.0.1:{nginx.Port}/logo.png";
        var headers = Path.Combine(_scratch, "headers.txt");
        var first = await CurlAsync("-x", proxy.Url.ToString(), "-o", "/dev/null", "-D", headers, url);
        Assert.Equal(0, first.ExitCode);
        var etag = File.ReadAllLines(headers).Single(l => l.StartsWith("ETag:", StringComparison.OrdinalIgnoreCase))["ETag:".Length..].Trim();
        var lastModified = File.ReadAllLines(headers).Single(l => l.StartsWith("Last-Modified:", StringComparison.OrdinalIgnoreCase))["Last-Modified:".Length..].Trim();

        async Task<string> StatusAndBytesAsync(params string[] condition) =>
            (await CurlAsync(["-x", proxy.Url.ToString(), "-o", "/dev/null", "-w", "%{http_code} %{size_download}", .. condition, url])).StandardOutput.Trim();
        Assert.Equal("304 0", await StatusAndBytesAsync("-H", $"If-None-Match: {etag}"));
        Assert.Equal("304 0", await StatusAndBytesAsync("-z", lastModified));              // curl -z sends If-Modified-Since
        Assert.Equal($"200 {_site.Image.Length}", await StatusAndBytesAsync("-H", "If-None-Match: \"other\""));
        Assert.Equal($"200 {_site.Image.Length}", await StatusAndBytesAsync("-z", "1 Jan 2001 00:00:00 GMT"));

        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Requests == 5, Wait));
        Assert.Equal((4, 1), (proxy.Counters.Hits, proxy.Counters.Misses));
        await Task.Delay(200); // nginx writes each line at once; a late line would show here
        Assert.Single(File.ReadAllLines(accessLog), l => l.Contains("/logo.png"));
    }

    [SkippableFact]
    public async Task Curl_never_gets_the_variant_another_accept_encoding_asked_for()
    {
        // The origin names the encoding it was asked for in the body; Vary: Accept-Encoding says the answer depends on it.
        await using var origin = new ScriptedOrigin((head, number, stream) =>
        {
            var body = head.Contains("Accept-Encoding: gzip") ? $"gzip-{number}" : $"identity-{number}";
            return stream.WriteAsync(Encoding.Latin1.GetBytes(
                $"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nVary: Accept-Encoding\r\nContent-Length: {body.Length}\r\n\r\n{body}")).AsTask();
        });
        await using var proxy = StartProxy();
        async Task<string> GetAsync(params string[] fields) =>
            (await CurlAsync(["-x", proxy.Url.ToString(), .. fields, origin.Url("/page")])).StandardOutput.Trim();
        Assert.Equal("gzip-1", await GetAsync("-H", "Accept-Encoding: gzip"));
        Assert.Equal("gzip-1", await GetAsync("-H", "Accept-Encoding: gzip"));   // the same variant: a hit
        Assert.Equal("identity-2", await GetAsync());                           // another one: to the origin, never gzip-1
        Assert.Equal("identity-2", await GetAsync());
        Assert.StartsWith("gzip-", await GetAsync("-H", "Accept-Encoding: gzip"));
        Assert.Equal(3, origin.Requests.Count);
    }

    [SkippableFact]
    public async Task Curl_sending_get_https_in_absolute_form_is_told_to_use_connect()
    {
        await using var proxy = StartProxy();
        // --request-target puts the https URL on the request line as a plain GET, as a misconfigured client would.
        var result = await CurlAsync("-x", proxy.Url.ToString(), "--request-target", "https://127.0.0.1:9/", "-w", "\n%{http_code}", "http://127.0.0.1:9/");
        Assert.EndsWith("501", result.StandardOutput.Trim());
        Assert.Contains("CONNECT", result.StandardOutput);
        Assert.Contains(proxy.Log, e => e.Status == 501 && e.Url.StartsWith("https://"));
    }

    [SkippableFact]
    public async Task Curl_https_style_connect_reaches_a_tunnelled_server_byte_for_byte()
    {
        // curl -p (proxytunnel) sends CONNECT even for http://, which lets the test tunnel to a plain origin on loopback.
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy(o => o with { ConnectPorts = [443, origin.Port] });
        var output = Path.Combine(_scratch, "tunnelled.bin");
        var result = await CurlAsync("-p", "-x", proxy.Url.ToString(), "-o", output, new Uri(origin.Url, "data.bin").ToString());
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(_site.Binary, await File.ReadAllBytesAsync(output));
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Tunnels == 1, Wait));
        Assert.Equal(0, proxy.Cache.Statistics.Objects); // what goes through a tunnel is never seen, so never cached
    }
}

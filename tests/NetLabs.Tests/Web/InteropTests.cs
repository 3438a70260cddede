using System.IO.Compression;
using System.Text;
using NetLabs.Tests.Support;
using NetLabs.Web;
using static NetLabs.Tests.Web.WebTesting;

namespace NetLabs.Tests.Web;

/// <summary>Real peers: curl and headless Chromium against our server, our client against nginx.</summary>
public class InteropTests : IDisposable
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(60);
    private readonly TempSite _site = new();

    public void Dispose() => _site.Dispose();

    private static async Task<ProcessResult> CurlAsync(params string[] arguments)
    {
        var curl = ExternalProcess.Require("curl", "curl");
        return await ExternalProcess.RunAsync(curl, ["-sS", "--max-time", "20", .. arguments], PeerTimeout);
    }

    [SkippableFact]
    public async Task Curl_downloads_every_lab_file_intact()
    {
        await using var server = Start(Www);
        foreach (var file in new[] { "HelloWorld.html", "images/logo.png", "images/photo.jpg", "sub/index.html" })
        {
            var target = Path.Combine(_site.Folder, Path.GetFileName(file));
            var result = await CurlAsync("-o", target, "-w", "%{http_code} %{content_type}", new Uri(server.Url, file).ToString());
            Assert.Equal(0, result.ExitCode);
            Assert.StartsWith("200 ", result.StandardOutput);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Www, file)), await File.ReadAllBytesAsync(target));
        }
    }

    [SkippableTheory]
    [InlineData("/../../../../etc/passwd")]
    [InlineData("/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/images/../../secret.txt")]
    [InlineData("/..%5c..%5csecret.txt")]
    [InlineData("/secret.txt%00.html")]
    public async Task Curl_path_as_is_traversal_attempts_are_refused(string path)
    {
        await using var server = Start(_site.Root);
        var result = await CurlAsync("--path-as-is", "-o", "-", "-w", "\n%{http_code}", $"http://127.0.0.1:{server.Port}{path}");
        Assert.Equal(0, result.ExitCode);
        var status = int.Parse(result.StandardOutput.Trim().Split('\n')[^1]);
        Assert.InRange(status, 400, 404);
        Assert.DoesNotContain(TempSite.Secret, result.StandardOutput);
        Assert.DoesNotContain("root:", result.StandardOutput);
        Assert.Contains(await server.AccessLogAsync(1), e => e.Target == path && e.Note is not null);
    }

    [SkippableFact]
    public async Task Curl_head_and_http_1_0()
    {
        await using var server = Start(Www);
        var headers = Path.Combine(_site.Folder, "headers.txt");
        var head = await CurlAsync("-I", "-o", "/dev/null", "-D", headers, new Uri(server.Url, "images/photo.jpg").ToString());
        Assert.Equal(0, head.ExitCode);
        var text = await File.ReadAllTextAsync(headers); // as sent, CRLF line ends
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text);
        Assert.Contains("Content-Type: image/jpeg\r\n", text);
        Assert.Contains($"Content-Length: {new FileInfo(Path.Combine(Www, "images", "photo.jpg")).Length}\r\n", text);
        Assert.EndsWith("\r\n\r\n", text);

        var old = await CurlAsync("-0", "-o", "/dev/null", "-D", headers, new Uri(server.Url, "HelloWorld.html").ToString());
        Assert.Equal(0, old.ExitCode);
        Assert.Contains("Connection: close\r\n", await File.ReadAllTextAsync(headers));
    }

    [SkippableFact]
    public async Task Curl_reuses_one_kept_alive_connection()
    {
        await using var server = Start(Www);
        var urls = new[] { "HelloWorld.html", "style.css", "images/logo.png" }.Select(f => new Uri(server.Url, f).ToString()).ToArray();
        var result = await CurlAsync(["-w", "%{http_code} %{num_connects}\n", .. urls.SelectMany(u => new[] { "-o", "/dev/null", u })]);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["200 1", "200 0", "200 0"], result.StandardOutput.Trim().Split('\n'));
        var log = await server.AccessLogAsync(3);
        Assert.Single(log.Select(e => e.ConnectionId).Distinct());
    }

    [SkippableTheory]
    [InlineData(WebServerMode.Sequential)]
    [InlineData(WebServerMode.Concurrent)]
    public async Task Headless_chromium_shows_the_page_with_its_image(WebServerMode mode)
    {
        var chromium = ExternalProcess.Find("chromium") ?? ExternalProcess.Find("chromium-browser");
        Skip.If(chromium is null, "chromium is not installed (apt-get install chromium); .ci/run installs it.");
        await using var server = Start(Www, mode);
        var profile = Directory.CreateTempSubdirectory("netlabs-chromium-").FullName;
        var screenshot = Path.Combine(_site.Folder, "page.png");
        try
        {
            var result = await ExternalProcess.RunAsync(chromium!,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                $"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=800,600", $"--screenshot={screenshot}",
                new Uri(server.Url, "HelloWorld.html").ToString(),
            ], PeerTimeout);
            Assert.True(File.Exists(screenshot), result.ToString());
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }

        var log = server.Log;
        Assert.Contains(log, e => e is { Target: "/HelloWorld.html", Status: 200 });
        Assert.Contains(log, e => e is { Target: "/images/logo.png", Status: 200 });
        Assert.Contains(log, e => e is { Target: "/style.css", Status: 200 });

        var pixels = PngPixels.Decode(await File.ReadAllBytesAsync(screenshot));
        Assert.True(pixels.DistinctColors() > 10, "the screenshot is blank");
        // The logo is mostly #1E90FF: its pixels must be on screen (the image loaded and was drawn).
        var logoBlue = pixels.Count((r, g, b) => Math.Abs(r - 0x1E) < 8 && Math.Abs(g - 0x90) < 8 && Math.Abs(b - 0xFF) < 8);
        Assert.True(logoBlue > 10_000, $"only {logoBlue} logo-blue pixels in the screenshot");
        Directory.CreateDirectory(RepoPaths.Artifacts);
        File.Copy(screenshot, Path.Combine(RepoPaths.Artifacts, $"web-chromium-helloworld-{mode.ToString().ToLowerInvariant()}.png"), overwrite: true);
    }

    [SkippableFact]
    public async Task Our_client_gets_the_same_bytes_from_nginx_as_from_disk_and_from_our_server()
    {
        await using var nginx = await NginxServer.StartAsync(Www);
        await using var ours = Start(Www);
        foreach (var file in new[] { "HelloWorld.html", "images/logo.png", "images/photo.jpg", "style.css", "sub/" })
        {
            var fromNginx = await HttpRawClient.GetAsync("127.0.0.1", nginx.Port, file);
            var fromOurs = await HttpRawClient.GetAsync("127.0.0.1", ours.Port, file);
            var onDisk = await File.ReadAllBytesAsync(Path.Combine(Www, file.EndsWith('/') ? file + "index.html" : file));
            Assert.Equal(200, fromNginx.StatusCode);
            Assert.Equal(onDisk, fromNginx.Body);
            Assert.Equal(onDisk, fromOurs.Body);
            Assert.Equal(fromNginx.Header("Content-Length"), fromOurs.Header("Content-Length"));
            Assert.Equal(fromNginx.Header("Last-Modified"), fromOurs.Header("Last-Modified"));
            Assert.Equal(fromNginx.ContentType!.Split(';')[0], fromOurs.ContentType!.Split(';')[0]);
        }
        Assert.Equal(404, (await HttpRawClient.GetAsync("127.0.0.1", nginx.Port, "nope.html")).StatusCode);
        Assert.Equal(301, (await HttpRawClient.GetAsync("127.0.0.1", nginx.Port, "sub")).StatusCode);
    }

    [SkippableFact]
    public async Task Our_client_reads_chunked_and_read_to_close_responses_from_nginx()
    {
        // gzip makes nginx stream the page without a length: chunked for HTTP/1.1, until close for HTTP/1.0.
        await using var nginx = await NginxServer.StartAsync(Www, "gzip on; gzip_http_version 1.0; gzip_min_length 0; gzip_types text/css;");
        var onDisk = await File.ReadAllBytesAsync(Path.Combine(Www, "HelloWorld.html"));
        var gzip = new KeyValuePair<string, string>("Accept-Encoding", "gzip");

        var chunked = await HttpRawClient.GetAsync("127.0.0.1", nginx.Port, "HelloWorld.html", new HttpRawRequestOptions { Headers = [gzip] });
        Assert.Equal("chunked", chunked.Framing);
        Assert.Equal("gzip", chunked.Header("Content-Encoding"));
        Assert.Equal(onDisk, Gunzip(chunked.Body));

        var toClose = await HttpRawClient.GetAsync("127.0.0.1", nginx.Port, "HelloWorld.html", new HttpRawRequestOptions { Headers = [gzip], Http10 = true });
        Assert.Equal("until close", toClose.Framing);
        Assert.Equal(onDisk, Gunzip(toClose.Body));

        // Keep-alive against nginx too: three requests, one connection.
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", nginx.Port);
        for (var i = 0; i < 3; i++)
            Assert.Equal(onDisk, (await connection.GetAsync("/HelloWorld.html")).Body);
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Web;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Proxy;

/// <summary>
/// The proxy lab's checks of a student's <see cref="ProxyClientHandler"/> (null: the library's own proxy): a page byte
/// for byte, a binary object larger than one read, an origin's 404 passed through, a second request served from the
/// cache without reaching the origin (counted in the origin's own access log), and a request that arrives in pieces.
/// Each check starts Lab 1's web server as the origin on a small site in a temporary folder and a
/// <see cref="ProxyServer"/> with the student's handler, talks to it with <see cref="ProxyRawClient"/>, and stops both.
/// <code>await ProxyStudentChecks.RunAsync(HandleClient)</code>
/// </summary>
public static class ProxyStudentChecks
{
    public const string Lab = "04-web-proxy";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(4);
    private const string PageText = "<html><body><h1>Through the proxy</h1><p>caf\u00e9 \u2615</p></body></html>\n";

    public static Task<ReportCard> RunAsync(ProxyClientHandler? handler, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(handler), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(ProxyClientHandler? handler) =>
    [
        new("a page through the proxy, byte for byte",
            "Read the request line (GET http://host:port/path HTTP/1.1), connect to host:port, send GET /path with a Host field, and send back every byte the origin answered.",
            token => WithProxyAsync(handler, token, async (proxy, origin, site, t) =>
            {
                var page = await GetAsync(proxy, new Uri(origin.Url, "index.html"), t);
                Expect(page.Status == 200, $"status {page.Status}, expected 200");
                Expect(page.Body.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(PageText)), $"{page.Body.Length} bytes received, the page has {Encoding.UTF8.GetByteCount(PageText)}: not the same bytes");
                return $"200, {page.Body.Length} bytes, identical to the origin's page";
            }), CheckTimeout),
        new("a binary object larger than one read arrives intact",
            "Read from the origin until it closes (a loop: one read gives only part of a large object) and keep the bytes as bytes: decoding them as text breaks images.",
            token => WithProxyAsync(handler, token, async (proxy, origin, site, t) =>
            {
                var data = await GetAsync(proxy, new Uri(origin.Url, "data.bin"), t);
                Expect(data.Status == 200, $"status {data.Status}, expected 200");
                Expect(data.Body.AsSpan().SequenceEqual(site.Binary), $"{data.Body.Length} bytes received, the object has {site.Binary.Length}: not the same bytes");
                return $"200, {data.Body.Length:N0} bytes identical";
            }), CheckTimeout),
        new("an origin's 404 is passed through",
            "Whatever the origin answers is the answer: relay its status line as it came, 404 included, and do not keep it in the cache.",
            token => WithProxyAsync(handler, token, async (proxy, origin, _, t) =>
            {
                var missing = await GetAsync(proxy, new Uri(origin.Url, "no-such-page.html"), t);
                Expect(missing.Status == 404, $"status {missing.Status}, expected the origin's 404");
                return "404, as the origin said";
            }), CheckTimeout),
        new("the second request is served from the cache, not by the origin",
            "Look in the cache before going to the origin (cache.TryGetRaw(url, out var response)); after a fetch, keep the answer (cache.StoreRaw(url, response)). Use the same URL string for both.",
            token => WithProxyAsync(handler, token, async (proxy, origin, site, t) =>
            {
                var url = new Uri(origin.Url, "logo.bin");
                var first = await GetAsync(proxy, url, t);
                var second = await GetAsync(proxy, url, t);
                Expect(first.Status == 200 && second.Status == 200, $"statuses {first.Status} and {second.Status}, expected 200 for both");
                Expect(second.Body.AsSpan().SequenceEqual(site.Logo), "the second answer is not the object's bytes");
                var reached = await OriginRequestsAsync(origin, "/logo.bin", t);
                Expect(reached == 1, $"the origin was asked {reached} times for the object: the second request should have come from the cache");
                return "two answers, one request at the origin";
            }), CheckTimeout),
        new("a request that arrives in pieces",
            "TCP delivers a stream, not messages: keep reading until the empty line (\\r\\n\\r\\n) that ends the request head before you parse it.",
            token => WithProxyAsync(handler, token, async (proxy, origin, _, t) =>
            {
                var request = Encoding.ASCII.GetBytes($"GET {new Uri(origin.Url, "index.html")} HTTP/1.1\r\nHost: {origin.Url.Authority}\r\nConnection: close\r\n\r\n");
                var received = await SendInPiecesAsync(proxy, request, t);
                var text = Encoding.UTF8.GetString(received);
                Expect(text.StartsWith("HTTP/1.", StringComparison.Ordinal) && text[9..12] == "200", $"the answer starts with \"{First(text)}\", expected HTTP/1.x 200");
                Expect(text.EndsWith(PageText, StringComparison.Ordinal), "the answer does not end with the page");
                return "the request came in 3 pieces, 150 ms apart: 200 and the page";
            }), CheckTimeout),
    ];

    private static string First(string text) => text.Split("\r\n")[0] is { Length: > 60 } line ? line[..60] + "…" : text.Split("\r\n")[0];

    private static async Task<ProxyExchange> GetAsync(ProxyServer proxy, Uri url, CancellationToken token)
    {
        try
        {
            return await ProxyRawClient.GetAsync(proxy.EndPoint, url, timeout: ClientTimeout, cancellationToken: token).ConfigureAwait(false);
        }
        catch (ProxyClientException e)
        {
            throw new CheckFailedException($"no proper answer from your proxy: {e.Message}");
        }
    }

    /// <summary>The origin logs a request just after answering it: wait a moment for the count to settle.</summary>
    private static async Task<int> OriginRequestsAsync(WebServer origin, string target, CancellationToken token)
    {
        await Task.Delay(200, token).ConfigureAwait(false);
        return origin.Log.Count(e => e.Target == target);
    }

    private static async Task<byte[]> SendInPiecesAsync(ProxyServer proxy, byte[] request, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(ClientTimeout + TimeSpan.FromSeconds(1));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(proxy.EndPoint, deadline.Token).ConfigureAwait(false);
        var third = request.Length / 3;
        foreach (var piece in new[] { request[..third], request[third..(2 * third)], request[(2 * third)..] })
        {
            await socket.SendAsync(piece, deadline.Token).ConfigureAwait(false);
            await Task.Delay(150, deadline.Token).ConfigureAwait(false);
        }
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            for (int n; (n = await socket.ReceiveAsync(buffer, deadline.Token).ConfigureAwait(false)) > 0;) received.Write(buffer, 0, n);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new CheckFailedException(received.Length == 0 ? "no answer: did you parse the first piece before the whole head had come?" : "the proxy did not close the connection after its answer");
        }
        catch (SocketException)
        {
            // a reset after the answer: judge what came
        }
        return received.ToArray();
    }

    /// <summary>What each check's origin serves.</summary>
    private sealed class Site
    {
        public required string Root { get; init; }
        public required byte[] Binary { get; init; }
        public required byte[] Logo { get; init; }
    }

    private static async Task<string> WithProxyAsync(ProxyClientHandler? handler, CancellationToken token, Func<ProxyServer, WebServer, Site, CancellationToken, Task<string>> body)
    {
        var root = Directory.CreateTempSubdirectory("netlabs-proxy-check-").FullName;
        try
        {
            var random = new Random(4);
            var binary = new byte[100_000];
            random.NextBytes(binary);
            var logo = new byte[5_000];
            random.NextBytes(logo);
            File.WriteAllText(Path.Combine(root, "index.html"), PageText);
            File.WriteAllBytes(Path.Combine(root, "data.bin"), binary);
            File.WriteAllBytes(Path.Combine(root, "logo.bin"), logo);
            // Unchanged for ten days: a cache that follows RFC 9111 (ours) keeps them fresh for a day, as the textbook's does.
            foreach (var file in Directory.EnumerateFiles(root)) File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddDays(-10));
            await using var origin = WebServer.Start(new WebServerOptions { Root = root });
            await using var proxy = ProxyServer.Start(new ProxyServerOptions { Handler = handler is null ? null : (client, cache, t) => StudentCalls.RunAsync(() => handler(client, cache, t)), DrainTimeout = TimeSpan.FromSeconds(1) });
            return await body(proxy, origin, new Site { Root = root, Binary = binary, Logo = logo }, token).ConfigureAwait(false);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

using System.Diagnostics;
using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Web;

/// <summary>
/// The web lab's checks of a student's <see cref="ConnectionHandler"/>: the cases our own tests use (exact bytes,
/// a binary image, 404, HEAD, a path that climbs out of the folder, two clients at once). Each check starts a
/// <see cref="WebServer"/> with the student's handler on its own small site in a temporary folder, talks to it with
/// <see cref="HttpRawClient"/>, and stops it.
/// <code>await WebStudentChecks.RunAsync(HandleConnection)</code>
/// </summary>
public static class WebStudentChecks
{
    public const string Lab = "01-web-server";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(4);
    private const string PageText = "<html><body><h1>Hello from the checks</h1><p>caf\u00e9 \u2615</p></body></html>\n";
    private const string SecretText = "the secret outside the served folder";

    public static Task<ReportCard> RunAsync(ConnectionHandler handler, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(handler), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(ConnectionHandler handler) =>
    [
        new("200 and the exact bytes of a page",
            "Read the request line, take the path after GET, send \"HTTP/1.1 200 OK\", the headers, an empty line (\\r\\n), then the file's bytes as they are.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var page = await GetAsync(server, "/index.html", t);
                Expect(page.StatusCode == 200, $"status {page.StatusCode}, expected 200");
                Expect(page.Body.AsSpan().SequenceEqual(File.ReadAllBytes(site.Page)), $"{page.Body.Length} bytes received, the file has {new FileInfo(site.Page).Length}: not the same bytes");
                return $"200, {page.Body.Length} bytes, identical to the file";
            }), CheckTimeout),
        new("a binary image arrives intact, with its Content-Type",
            "Send files as bytes (File.ReadAllBytes), never as text: decoding an image as a string changes it. Content-Type: MimeTypes.For(path).",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var image = await GetAsync(server, "/images/pixels.png", t);
                Expect(image.StatusCode == 200, $"status {image.StatusCode}, expected 200");
                Expect(image.Body.AsSpan().SequenceEqual(File.ReadAllBytes(site.Image)), $"{image.Body.Length} bytes received, the image has {new FileInfo(site.Image).Length}: not the same bytes");
                Expect(image.ContentType?.StartsWith("image/png", StringComparison.OrdinalIgnoreCase) == true, $"Content-Type is \"{image.ContentType}\", expected image/png");
                return $"200, {image.Body.Length} bytes identical, {image.ContentType}";
            }), CheckTimeout),
        new("404 for a missing file",
            "When the file does not exist, answer \"HTTP/1.1 404 Not Found\" (with a small HTML body), and do not let the exception close the connection unanswered.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, _, t) =>
            {
                var missing = await GetAsync(server, "/no-such-page.html", t);
                Expect(missing.StatusCode == 404, $"status {missing.StatusCode}, expected 404");
                return $"404 {missing.ReasonPhrase}";
            }), CheckTimeout),
        new("HEAD: the headers without the body",
            "For HEAD send the same status line and headers as for GET (Content-Length of the file) but no body.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var (status, headers, afterHead) = await HeadAsync(server, "/index.html", t);
                Expect(status == 200, $"status {status}, expected 200");
                var length = new FileInfo(site.Page).Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Expect(headers.Contains($"\r\nContent-Length: {length}\r\n", StringComparison.OrdinalIgnoreCase), $"no \"Content-Length: {length}\" (the size of the file) among the headers");
                Expect(afterHead == 0, $"{afterHead} bytes of body came after the head: HEAD gets none");
                return $"200, Content-Length: {length}, no body";
            }), CheckTimeout),
        new("a path that climbs out of the folder is refused",
            "Never open a path with \"..\" in it: use RequestPath.Resolve(connection.RealRoot, target), which refuses those (403/400) and finds the file (200) or not (404).",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, _, t) =>
            {
                var attack = await SendRawAsync(server, "GET /../secret.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "GET", t);
                Expect(!attack.BodyText.Contains(SecretText, StringComparison.Ordinal), "the file outside the served folder was sent: anyone can read any file of the machine");
                Expect(attack.StatusCode is >= 400 and < 500, $"status {attack.StatusCode}, expected a refusal (403, 400 or 404)");
                return $"GET /../secret.txt: {attack.StatusCode} {attack.ReasonPhrase}, nothing leaked";
            }), CheckTimeout),
        new("two clients at once: a slow one does not hold up a quick one",
            "Read until the empty line that ends the request (a slow client sends it in pieces), and keep all state of a connection inside the handler: the server runs one handler per client at the same time.",
            token => WithSiteAsync(handler, WebServerMode.Concurrent, token, async (server, _, t) =>
            {
                var clock = Stopwatch.StartNew();
                var slow = TimedAsync(HttpRawClient.GetAsync("127.0.0.1", server.Port, "/index.html",
                    new HttpRawRequestOptions { SendDuration = TimeSpan.FromSeconds(1.5), Timeout = ClientTimeout }, t), clock);
                await Task.Delay(200, t);
                var quick = await TimedAsync(HttpRawClient.GetAsync("127.0.0.1", server.Port, "/index.html", new HttpRawRequestOptions { Timeout = ClientTimeout }, t), clock);
                var slowDone = await slow;
                Expect(quick.Exchange.StatusCode == 200 && slowDone.Exchange.StatusCode == 200, $"statuses {quick.Exchange.StatusCode} and {slowDone.Exchange.StatusCode}, expected 200 for both");
                Expect(quick.At < slowDone.At, "the quick client waited for the slow one");
                return $"quick client served after {quick.At.TotalSeconds:0.00} s, slow one after {slowDone.At.TotalSeconds:0.00} s";
            }), CheckTimeout),
    ];

    private static Task<HttpExchange> GetAsync(WebServer server, string path, CancellationToken token) =>
        HttpRawClient.GetAsync("127.0.0.1", server.Port, path, new HttpRawRequestOptions { Timeout = ClientTimeout }, token);

    private static Task<HttpExchange> SendRawAsync(WebServer server, string request, string method, CancellationToken token) =>
        HttpRawClient.SendAsync("127.0.0.1", server.Port, Encoding.ASCII.GetBytes(request), new HttpRawRequestOptions { Method = method, Timeout = ClientTimeout }, token);

    /// <summary>
    /// HEAD on a plain socket, reading until the server closes: HttpRawClient would stop after the head, and so
    /// never see a body the handler wrongly sent.
    /// </summary>
    private static async Task<(int Status, string Head, int BytesAfterHead)> HeadAsync(WebServer server, string path, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(ClientTimeout);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port, deadline.Token).ConfigureAwait(false);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), deadline.Token).ConfigureAwait(false);
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new CheckFailedException($"the connection stayed open {ClientTimeout.TotalSeconds:0} s after the answer to HEAD: close it (\"Connection: close\")");
        }
        var text = Encoding.Latin1.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) throw new CheckFailedException($"no complete response head (got {received.Length} bytes)");
        var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
        var status = statusLine.Length > 1 && int.TryParse(statusLine[1], out var code) ? code : 0;
        return (status, text[..(end + 2)], text.Length - end - 4);
    }

    private static async Task<(HttpExchange Exchange, TimeSpan At)> TimedAsync(Task<HttpExchange> exchange, Stopwatch clock)
    {
        var result = await exchange.ConfigureAwait(false);
        return (result, clock.Elapsed);
    }

    private sealed record Site(string Root, string Page, string Image);

    /// <summary>
    /// A fresh site (index.html, images/pixels.png, and a secret.txt beside, not inside, the served folder) and a
    /// server with the student's handler on it. When the client sees no proper answer, the handler's own exception
    /// (if it threw) is what the report shows: that is the student's bug, not the client's.
    /// </summary>
    private static async Task<string> WithSiteAsync(ConnectionHandler handler, WebServerMode mode, CancellationToken token,
        Func<WebServer, Site, CancellationToken, Task<string>> check)
    {
        var folder = Directory.CreateTempSubdirectory("netlabs-check-web-");
        try
        {
            var site = MakeSite(folder.FullName);
            Exception? handlerError = null;
            ConnectionHandler watched = async connection =>
            {
                try { await handler(connection).ConfigureAwait(false); }
                catch (Exception e) { handlerError ??= e; throw; }
            };
            var server = WebServer.Start(new WebServerOptions
            {
                Root = site.Root, Mode = mode, Handler = watched, ShutdownTimeout = TimeSpan.FromSeconds(1), HeaderTimeout = TimeSpan.FromSeconds(4),
            });
            try
            {
                return await check(server, site, token).ConfigureAwait(false);
            }
            catch (Exception) when (handlerError is not null && !token.IsCancellationRequested)
            {
                throw new CheckFailedException(handlerError is NotImplementedException
                    ? $"not written yet ({handlerError.Message})"
                    : $"your handler threw {handlerError.GetType().Name}: {handlerError.Message}");
            }
            catch (Exception e) when (e is HttpClientException or IOException or System.Net.Sockets.SocketException or FormatException)
            {
                throw new CheckFailedException($"no proper HTTP response: {e.Message}");
            }
            finally
            {
                await server.StopAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            try { folder.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static Site MakeSite(string folder)
    {
        var root = Path.Combine(folder, "www");
        Directory.CreateDirectory(Path.Combine(root, "images"));
        var page = Path.Combine(root, "index.html");
        File.WriteAllText(page, PageText, new UTF8Encoding(false));
        // Every byte value, behind a PNG signature: text decoding would change many of them.
        var image = Path.Combine(root, "images", "pixels.png");
        var bytes = new byte[8 + 3 * 256];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        for (var i = 8; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
        File.WriteAllBytes(image, bytes);
        File.WriteAllText(Path.Combine(folder, "secret.txt"), SecretText);
        return new Site(root, page, image);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Web;

/// <summary>
/// The web lab's checks of a student's <see cref="ConnectionHandler"/>: the cases our own tests use (exact bytes,
/// a request in pieces, a binary image, 404, HEAD, paths that climb out of the folder, two clients at once). A failure
/// names what is wrong on the wire in the student's terms: only the first recv() read, a missing CRLF, no Content-Length
/// on a connection left open. Each check starts a
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
            "Read the request line, take the path after GET, send \"HTTP/1.1 200 OK\", the headers, an empty line, then the file's bytes as they are. Every line of the head ends in \\r\\n.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var page = await GetAsync(server, "/index.html", t);
                ExpectCrlf(page.ResponseBytes.AsSpan(0, page.ResponseHeadLength));
                Expect(page.StatusCode == 200, $"status {page.StatusCode}, expected 200");
                Expect(page.Body.AsSpan().SequenceEqual(File.ReadAllBytes(site.Page)), $"{page.Body.Length} bytes received, the file has {new FileInfo(site.Page).Length}: not the same bytes");
                return $"200, {page.Body.Length} bytes, identical to the file";
            }), CheckTimeout),
        new("a request that arrives in several pieces",
            "One read gives what has arrived so far, not the whole request: keep reading and appending until the bytes you have contain the empty line (\\r\\n\\r\\n) that ends the head, and only then parse and answer.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var (received, _) = await SendInPiecesAsync(server, ["GET /ind", "ex.html HTTP/1.1\r\nHost: 127.0.0.1\r\n", "Connection: close\r\n\r\n"], t);
                var (status, body) = ParseComplete(received);
                Expect(status == 200, $"status {status}, expected 200");
                Expect(body.AsSpan().SequenceEqual(File.ReadAllBytes(site.Page)), $"{body.Length} bytes of body, the file has {new FileInfo(site.Page).Length}: not the same bytes");
                return $"request sent in 3 pieces {PiecePause.TotalMilliseconds:0} ms apart: 200, the exact bytes";
            }), CheckTimeout),
        new("a binary image arrives intact, with its Content-Type",
            "Send files as bytes (File.ReadAllBytes), never as text: decoding an image as a string changes it. Content-Type from the file's extension: .png is image/png.",
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
                ExpectCrlf(missing.ResponseBytes.AsSpan(0, missing.ResponseHeadLength));
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
            "The request's path comes from anyone: join it to the root, make the result absolute (Path.GetFullPath resolves \"..\"), and serve it only if it is still inside the root — it starts with the root folder followed by a separator; refuse anything else with 403 before opening it. A path that starts with \"/\" is not relative: Path.Combine(root, \"/etc/passwd\") is /etc/passwd.",
            token => WithSiteAsync(handler, WebServerMode.Sequential, token, async (server, site, t) =>
            {
                var seen = new List<string>();
                foreach (var target in new[] { "/../secret.txt", "/images/../../secret.txt", "/../www-old/secret.txt", "/" + site.Secret })
                {
                    var attack = await SendRawAsync(server, $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "GET", t);
                    Expect(!attack.BodyText.Contains(SecretText, StringComparison.Ordinal), $"GET {Shorten(target)} sent a file outside the served folder: anyone can read any file of the machine");
                    Expect(attack.StatusCode is >= 400 and < 500, $"GET {Shorten(target)}: status {attack.StatusCode}, expected a refusal (403, 400 or 404)");
                    seen.Add(attack.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                return $"\"..\" twice, a sibling folder (www-old), an absolute path: {string.Join(", ", seen)}, nothing leaked";
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

    private static readonly TimeSpan PiecePause = TimeSpan.FromMilliseconds(250);

    private static string Shorten(string target) => target.Length <= 40 ? target : target[..18] + "…" + target[^18..];

    private static Task<HttpExchange> GetAsync(WebServer server, string path, CancellationToken token) =>
        HttpRawClient.GetAsync("127.0.0.1", server.Port, path, new HttpRawRequestOptions { Timeout = ClientTimeout }, token);

    private static Task<HttpExchange> SendRawAsync(WebServer server, string request, string method, CancellationToken token) =>
        HttpRawClient.SendAsync("127.0.0.1", server.Port, Encoding.ASCII.GetBytes(request), new HttpRawRequestOptions { Method = method, Timeout = ClientTimeout }, token);

    /// <summary>
    /// Sends the request in the given pieces, each its own TCP segment (Nagle off) with a pause between them, and fails
    /// at once if the server answers or closes before the last piece: the handler then read only the first recv().
    /// Returns every byte received until the server closed, or until <see cref="ClientTimeout"/>.
    /// </summary>
    private static async Task<(byte[] Received, bool Closed)> SendInPiecesAsync(WebServer server, IReadOnlyList<string> pieces, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(ClientTimeout + PiecePause * pieces.Count);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, server.Port, deadline.Token).ConfigureAwait(false);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        // One receive, pending from the start: if it completes during a pause, the server answered (or closed) before
        // the request was complete. (Awaited, not polled: a blocked thread could delay the server's own reads.)
        var receiving = socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).AsTask();
        var sent = 0;
        for (var i = 0; i < pieces.Count; i++)
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(pieces[i]), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            sent += pieces[i].Length;
            if (i == pieces.Count - 1) break;
            if (await Task.WhenAny(receiving, Task.Delay(PiecePause, deadline.Token)).ConfigureAwait(false) != receiving) continue;
            var early = receiving.IsCompletedSuccessfully ? receiving.Result : 0;
            var what = early > 0 ? "answered" : "closed the connection";
            throw new CheckFailedException($"your handler {what} after the first {sent} bytes (\"{Visible(string.Concat(pieces.Take(i + 1)))}\"): it read only the first recv() of a request sent in {pieces.Count} pieces");
        }
        try
        {
            while (true)
            {
                var n = await receiving.ConfigureAwait(false);
                if (n == 0) return (received.ToArray(), true);
                received.Write(buffer, 0, n);
                if (CompleteByLength(received.ToArray())) return (received.ToArray(), false); // a kept-open connection is not this check's business
                receiving = socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).AsTask();
            }
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new CheckFailedException(WireProblem(received.ToArray(), closed: false) ?? $"no complete response within {ClientTimeout.TotalSeconds:0} s");
        }
        catch (SocketException)
        {
            return (received.ToArray(), true); // reset: judge what arrived
        }
    }

    /// <summary>Status and body of a complete response that ended with the server's close (or its Content-Length).</summary>
    private static (int Status, byte[] Body) ParseComplete(byte[] received)
    {
        if (WireProblem(received, closed: true) is { } problem) throw new CheckFailedException(problem);
        var text = Encoding.Latin1.GetString(received);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
        var status = statusLine.Length > 1 && int.TryParse(statusLine[1], out var code) ? code : 0;
        var body = received.AsSpan(end);
        if (ContentLength(text[..end]) is { } length && length <= body.Length) body = body[..(int)length];
        return (status, body.ToArray());
    }

    /// <summary>A complete head with a Content-Length, and that many body bytes.</summary>
    private static bool CompleteByLength(byte[] received)
    {
        var text = Encoding.Latin1.GetString(received);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return end >= 0 && ContentLength(text[..(end + 4)]) is { } length && received.Length - end - 4 >= length;
    }

    /// <summary>The status line and header lines end in CRLF, not a bare LF.</summary>
    private static void ExpectCrlf(ReadOnlySpan<byte> head)
    {
        if (BareLineFeed(head)) throw new CheckFailedException(CrlfProblem);
    }

    private const string CrlfProblem = "the lines of your response end in \\n alone: HTTP ends the status line, each header and the empty line with \\r\\n (CRLF)";

    private static bool BareLineFeed(ReadOnlySpan<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return true;
        return false;
    }

    private static long? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture, out var length))
                return length;
        return null;
    }

    /// <summary>
    /// Why what arrived is not a complete response, in the student's terms (CRLF, the empty line, Content-Length, the
    /// close), or null when it is one. <paramref name="closed"/>: the server closed the connection (else it stayed open).
    /// </summary>
    internal static string? WireProblem(byte[] received, bool closed)
    {
        var waited = $"{ClientTimeout.TotalSeconds:0} s";
        if (received.Length == 0)
            return closed
                ? "the connection closed with no answer: your handler returned (or failed) before writing a response"
                : $"no answer within {waited}: your handler wrote nothing and had not returned (still waiting to read? the client sends nothing after the empty line that ends its request; or a loop that never ends?)";
        var text = Encoding.Latin1.GetString(received);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = headEnd < 0 ? text : text[..(headEnd + 4)];
        if (BareLineFeed(Encoding.Latin1.GetBytes(head))) return CrlfProblem;
        if (headEnd < 0)
            return $"the response head never ended ({received.Length} bytes, no empty line): after the last header send \"\\r\\n\" alone";
        var body = received.Length - headEnd - 4;
        var length = ContentLength(head);
        if (length is null)
            return closed ? null : $"your response has no Content-Length and the connection stayed open for {waited}: the client cannot tell where the body ends. Send \"Content-Length: <bytes of the body>\", or close the connection after the body";
        if (body < length)
            return closed
                ? $"Content-Length says {length} but the connection closed after {body} bytes of body"
                : $"Content-Length says {length} but only {body} bytes of body came and the connection stayed open for {waited}: Content-Length counts the body's bytes (not its characters), and all of them must be sent";
        return null;
    }

    private static string Visible(string text) => text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>
    /// HEAD on a plain socket, reading until the server closes: HttpRawClient would stop after the head, and so
    /// never see a body the handler wrongly sent.
    /// </summary>
    private static async Task<(int Status, string Head, int BytesAfterHead)> HeadAsync(WebServer server, string path, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(ClientTimeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port, deadline.Token).ConfigureAwait(false);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), deadline.Token).ConfigureAwait(false);
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            // Name what is wrong with what did arrive; only a complete head followed by silence "stayed open after the answer".
            var bytes = received.ToArray();
            var text = Encoding.Latin1.GetString(bytes);
            throw new CheckFailedException(bytes.Length == 0 || BareLineFeed(bytes) || !text.Contains("\r\n\r\n", StringComparison.Ordinal)
                ? "HEAD: " + WireProblem(bytes, closed: false)
                : $"the connection stayed open {ClientTimeout.TotalSeconds:0} s after the answer to HEAD: close it (\"Connection: close\", then return from the handler)");
        }
        catch (IOException)
        {
            // reset after the answer: judge what arrived
        }
        var all = received.ToArray();
        if (WireProblem(all, closed: true) is { } problem && (all.Length == 0 || BareLineFeed(all))) throw new CheckFailedException("HEAD: " + problem);
        var head = Encoding.Latin1.GetString(all);
        var end = head.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) throw new CheckFailedException($"HEAD: no complete response head (got {all.Length} bytes)");
        var statusLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
        var status = statusLine.Length > 1 && int.TryParse(statusLine[1], out var code) ? code : 0;
        return (status, head[..(end + 2)], head.Length - end - 4);
    }

    private static async Task<(HttpExchange Exchange, TimeSpan At)> TimedAsync(Task<HttpExchange> exchange, Stopwatch clock)
    {
        var result = await exchange.ConfigureAwait(false);
        return (result, clock.Elapsed);
    }

    // Secret: the absolute path of a secret file outside the root; another one is in www-old, a sibling whose name starts with the root's.
    private sealed record Site(string Root, string Page, string Image, string Secret);

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
            var handlerTime = TimeSpan.Zero;
            ConnectionHandler watched = async connection =>
            {
                var clock = Stopwatch.StartNew();
                try { await StudentCalls.RunAsync(() => handler(connection)).ConfigureAwait(false); }
                catch (Exception e)
                {
                    if (handlerError is null) (handlerError, handlerTime) = (e, clock.Elapsed);
                    throw;
                }
            };
            var server = WebServer.Start(new WebServerOptions
            {
                Root = site.Root, Mode = mode, Handler = watched, ShutdownTimeout = TimeSpan.FromSeconds(1), HeaderTimeout = TimeSpan.FromSeconds(4),
            });
            try
            {
                return await check(server, site, token).ConfigureAwait(false);
            }
            catch (Exception e) when (handlerError is not null && !token.IsCancellationRequested)
            {
                if (handlerError is NotImplementedException) throw new CheckFailedException($"not written yet ({handlerError.Message})");
                var threw = CheckRunner.IsOwnTimeout(handlerError)
                    ? "your handler's " + CheckRunner.OwnTimeout(handlerError, handlerTime, ClientTimeout, "Stop reading at the empty line that ends the request and answer: the client sends nothing after the empty line that ends its request")["your ".Length..]
                    : $"your handler threw {handlerError.GetType().Name}: {handlerError.Message}";
                throw new CheckFailedException(e is CheckFailedException seen ? $"{seen.Message}; then {threw}" : threw);
            }
            catch (HttpClientException e)
            {
                throw new CheckFailedException(WireProblem(e.ResponseBytes, closed: e.Failure != HttpClientFailure.TimedOut) ?? $"no proper HTTP response: {e.Message}");
            }
            catch (Exception e) when (e is IOException or SocketException or FormatException)
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
        var secret = Path.Combine(folder, "secret.txt");
        File.WriteAllText(secret, SecretText);
        // "…/www-old" starts with "…/www": a check that the path starts with the root, without the separator, lets it through.
        Directory.CreateDirectory(Path.Combine(folder, "www-old"));
        File.WriteAllText(Path.Combine(folder, "www-old", "secret.txt"), SecretText);
        return new Site(root, page, image, secret);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Hosting;
using NetLabs.Web;
using static NetLabs.Tests.Web.WebTesting;

namespace NetLabs.Tests.Web;

/// <summary>The server on loopback, spoken to by our raw client and by hand-made byte sequences.</summary>
public class WebServerTests : IDisposable
{
    private readonly TempSite _site = new();

    public void Dispose() => _site.Dispose();

    [Theory]
    [InlineData(WebServerMode.Sequential)]
    [InlineData(WebServerMode.Concurrent)]
    public async Task Serves_the_lab_files_byte_for_byte(WebServerMode mode)
    {
        await using var server = Start(Www, mode);
        foreach (var (path, type) in new[]
                 {
                     ("HelloWorld.html", "text/html; charset=utf-8"), ("images/logo.png", "image/png"),
                     ("images/photo.jpg", "image/jpeg"), ("style.css", "text/css; charset=utf-8"),
                 })
        {
            var exchange = await server.GetAsync(path);
            var expected = await File.ReadAllBytesAsync(Path.Combine(Www, path));
            Assert.Equal(200, exchange.StatusCode);
            Assert.Equal(expected, exchange.Body);
            Assert.Equal(type, exchange.ContentType);
            Assert.Equal(expected.Length.ToString(), exchange.Header("Content-Length"));
            Assert.Equal("Content-Length", exchange.Framing);
            Assert.NotNull(HttpResponseHead.ParseDate(exchange.Header("Date")));
            Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(Www, path)).ToString("r"), exchange.Header("Last-Modified"));
        }
    }

    [Fact]
    public async Task Binary_files_of_every_size_arrive_intact()
    {
        // Every byte value (no text decoding anywhere), a cached size and a streamed one.
        File.WriteAllBytes(Path.Combine(_site.Root, "all-bytes.bin"), Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        var small = _site.AddFile("small.bin", 20_000, seed: 2);
        var large = _site.AddFile("large.bin", 3 * 1024 * 1024 + 17, seed: 3);
        File.WriteAllBytes(Path.Combine(_site.Root, "empty.txt"), []);
        await using var server = Start(_site.Root);

        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), (await server.GetAsync("/all-bytes.bin")).Body);
        Assert.Equal(small, (await server.GetAsync("/small.bin")).Body);
        var exchange = await server.GetAsync("/large.bin");
        Assert.Equal(large, exchange.Body);
        Assert.Equal("application/octet-stream", exchange.ContentType);
        var empty = await server.GetAsync("/empty.txt");
        Assert.Equal(200, empty.StatusCode);
        Assert.Equal("0", empty.Header("Content-Length"));
        Assert.Empty(empty.Body);
    }

    [Fact]
    public async Task A_changed_file_is_served_fresh()
    {
        await using var server = Start(_site.Root, tweak: o => o with { FileCacheDuration = TimeSpan.Zero });
        Assert.Equal("hello", (await server.GetAsync("/hello.txt")).BodyText);
        File.WriteAllText(Path.Combine(_site.Root, "hello.txt"), "changed, and longer");
        Assert.Equal("changed, and longer", (await server.GetAsync("/hello.txt")).BodyText);
        File.Delete(Path.Combine(_site.Root, "hello.txt"));
        Assert.Equal(404, (await server.GetAsync("/hello.txt")).StatusCode);
    }

    [Fact]
    public async Task Head_has_the_headers_of_get_and_no_body()
    {
        await using var server = Start(Www);
        var get = await server.GetAsync("images/logo.png");
        var head = await server.GetAsync("images/logo.png", new HttpRawRequestOptions { Method = "HEAD" });
        Assert.Equal(200, head.StatusCode);
        Assert.Empty(head.Body);
        Assert.Equal(get.Header("Content-Length"), head.Header("Content-Length"));
        Assert.Equal(get.Header("Content-Type"), head.Header("Content-Type"));
        Assert.Equal(head.ResponseHeadLength, head.ResponseBytes.Length); // nothing after the head on the wire
        var missing = await server.GetAsync("nope", new HttpRawRequestOptions { Method = "HEAD" });
        Assert.Equal(404, missing.StatusCode);
        Assert.Empty(missing.Body);
    }

    [Fact]
    public async Task If_modified_since_gives_304_when_the_copy_is_current()
    {
        await using var server = Start(Www);
        var first = await server.GetAsync("HelloWorld.html");
        var lastModified = first.Header("Last-Modified")!;
        var again = await server.GetAsync("HelloWorld.html", new HttpRawRequestOptions { Headers = [new("If-Modified-Since", lastModified)] });
        Assert.Equal(304, again.StatusCode);
        Assert.Empty(again.Body);
        Assert.Null(again.Header("Content-Length"));
        Assert.Equal(lastModified, again.Header("Last-Modified"));
        var older = HttpResponseHead.FormatDate(HttpResponseHead.ParseDate(lastModified)!.Value.AddSeconds(-1));
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html", new HttpRawRequestOptions { Headers = [new("If-Modified-Since", older)] })).StatusCode);
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html", new HttpRawRequestOptions { Headers = [new("If-Modified-Since", "garbage")] })).StatusCode);
    }

    [Fact]
    public async Task A_missing_file_gets_a_404_page_and_the_connection_stays()
    {
        await using var server = Start(Www);
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        var missing = await connection.GetAsync("/no-such-page.html");
        Assert.Equal(404, missing.StatusCode);
        Assert.Equal("text/html; charset=utf-8", missing.ContentType);
        Assert.Contains("<h1>404 Not Found</h1>", missing.BodyText);
        Assert.Equal(200, (await connection.GetAsync("/HelloWorld.html")).StatusCode);
    }

    [Fact]
    public async Task Other_methods_get_405_with_allow()
    {
        await using var server = Start(Www);
        var exchange = await server.SendRawAsync("POST /HelloWorld.html HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
        Assert.Equal(405, exchange.StatusCode);
        Assert.Equal("GET, HEAD", exchange.Header("Allow"));
        foreach (var method in new[] { "PUT", "DELETE", "OPTIONS", "BREW" })
            Assert.Equal(405, (await server.SendRawAsync($"{method} / HTTP/1.1\r\nHost: x\r\n\r\n")).StatusCode);
    }

    [Fact]
    public async Task The_body_of_a_request_is_not_taken_for_the_next_request()
    {
        await using var server = Start(Www);
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        var body = "GET /secret HTTP/1.1\r\nHost: x\r\n\r\n"; // looks like a request, is a body
        var post = await connection.SendAsync(Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}"));
        Assert.Equal(405, post.StatusCode);
        var next = await connection.GetAsync("/HelloWorld.html");
        Assert.Equal(200, next.StatusCode);
        Assert.Equal(2, (await server.AccessLogAsync(2)).Count);
    }

    [Fact]
    public async Task Folders_serve_index_html_and_get_their_slash()
    {
        await using var server = Start(Www);
        var redirect = await server.GetAsync("/sub");
        Assert.Equal(301, redirect.StatusCode);
        Assert.Equal("/sub/", redirect.Header("Location"));
        var index = await server.GetAsync("/sub/");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Www, "sub", "index.html")), index.Body);
    }

    [Fact]
    public async Task Percent_encoded_names_are_decoded()
    {
        await using var server = Start(_site.Root);
        Assert.Equal("accents", (await server.GetAsync("/a%20b/caf%C3%A9.txt")).BodyText);
        Assert.Equal("accents", (await server.GetAsync("/a b/caf\u00e9.txt")).BodyText); // our client encodes it
    }

    [SkippableFact]
    public async Task Hostile_requests_never_reach_outside_the_root_and_are_logged()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        _site.AddSymbolicLinks();
        await using var server = Start(_site.Root);
        string[] targets =
        [
            "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..\\secret.txt", "/%2e%2e%5csecret.txt",
            "/secret.txt%00", "/to-secret.txt", "/outside-dir/", "/etc/passwd", "/sneaky.txt", "http://x/../secret.txt",
            "/%c0%ae%c0%ae/secret.txt", "//etc/passwd", "/../../../../../../../../etc/passwd",
        ];
        foreach (var target in targets)
        {
            var exchange = await server.SendRawAsync($"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.InRange(exchange.StatusCode, 400, 404);
            Assert.DoesNotContain(TempSite.Secret, Latin1(exchange.ResponseBytes));
            Assert.DoesNotContain("root:", Latin1(exchange.ResponseBytes));
        }
        var log = await server.AccessLogAsync(targets.Length);
        Assert.Equal(targets.Length, log.Count);
        Assert.All(log, e => Assert.False(string.IsNullOrEmpty(e.Note)));
        Assert.All(log.Where(e => e.Target.Contains("..") || e.Target.Contains("%2e") || e.Target.Contains("secret") && !e.Target.Contains("%c0")),
            e => Assert.StartsWith("refused: ", e.Note));
    }

    [Fact]
    public async Task Garbage_gets_400_and_a_close_and_the_server_goes_on()
    {
        await using var server = Start(Www);
        var random = new Random(7);
        var garbage = new byte[3000];
        random.NextBytes(garbage);
        garbage[100] = (byte)'\n';
        garbage[101] = (byte)'\n';
        var (received, closed) = await ExchangeAsync(server.Port, garbage, TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", Latin1(received));
        Assert.Contains("Connection: close\r\n", Latin1(received));
        Assert.True(closed);

        // A TLS ClientHello, as a browser sends to https://localhost:port by mistake.
        var hello = Convert.FromHexString("16030100c4010000c00303" + new string('a', 64) + "000002c02f01000095");
        (received, closed) = await ExchangeAsync(server.Port, hello, TimeSpan.FromSeconds(5), shutdownAfterSend: true);
        Assert.True(closed);
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html")).StatusCode);
        Assert.Equal(0, server.Counters.HandlerFailures);
    }

    [Theory]
    [InlineData("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413)]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501)]
    public async Task Bad_requests_get_their_status_and_a_close(string request, int status)
    {
        await using var server = Start(Www);
        var exchange = await server.SendRawAsync(request);
        Assert.Equal(status, exchange.StatusCode);
        Assert.Equal("close", exchange.Header("Connection"));
        Assert.True(exchange.ServerClosed || exchange.Framing == "Content-Length");
    }

    [Fact]
    public async Task A_one_megabyte_header_line_gets_431_and_a_one_megabyte_target_414()
    {
        await using var server = Start(Www);
        var hugeHeader = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 1 << 20) + "\r\n\r\n");
        var (received, closed) = await ExchangeAsync(server.Port, hugeHeader, TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 431 ", Latin1(received));
        Assert.True(closed);

        var hugeTarget = Encoding.ASCII.GetBytes("GET /" + new string('a', 1 << 20) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        (received, closed) = await ExchangeAsync(server.Port, hugeTarget, TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 414 ", Latin1(received));
        Assert.True(closed);

        // No line end at all, ever.
        (received, _) = await ExchangeAsync(server.Port, new byte[1 << 20], TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 414 ", Latin1(received));
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html")).StatusCode);
    }

    [Fact]
    public async Task Keep_alive_serves_several_requests_on_one_connection()
    {
        await using var server = Start(Www);
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        foreach (var path in new[] { "/HelloWorld.html", "/images/logo.png", "/style.css" })
        {
            var exchange = await connection.GetAsync(path);
            Assert.Equal(200, exchange.StatusCode);
            Assert.Null(exchange.Header("Connection"));
        }
        Assert.False(connection.ServerClosed);
        var last = await connection.GetAsync("/HelloWorld.html", new HttpRawRequestOptions { Close = true });
        Assert.Equal("close", last.Header("Connection"));
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
        var log = await server.AccessLogAsync(4);
        Assert.Equal(4, log.Count);
        Assert.Single(log.Select(e => e.ConnectionId).Distinct());
        Assert.Equal(connection.LocalEndPoint, log[0].Client);
    }

    [Fact]
    public async Task Http_1_0_closes_unless_it_asks_for_keep_alive()
    {
        await using var server = Start(Www);
        var plain = await server.SendRawAsync("GET /HelloWorld.html HTTP/1.0\r\n\r\n");
        Assert.Equal(200, plain.StatusCode);
        Assert.Equal("close", plain.Header("Connection"));

        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        var kept = await connection.GetAsync("/HelloWorld.html", new HttpRawRequestOptions { Http10 = true, Close = false });
        Assert.Equal("keep-alive", kept.Header("Connection"));
        Assert.Equal(200, (await connection.GetAsync("/style.css", new HttpRawRequestOptions { Http10 = true, Close = false })).StatusCode);
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order()
    {
        await using var server = Start(Www);
        var requests = "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n\r\nHEAD /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        var (received, closed) = await ExchangeAsync(server.Port, Encoding.ASCII.GetBytes(requests), TimeSpan.FromSeconds(5));
        var text = Latin1(received);
        Assert.True(closed);
        var statuses = System.Text.RegularExpressions.Regex.Matches(text, @"HTTP/1\.1 \d{3} [A-Za-z ]+(?=\r\n)").Select(m => m.Value).ToList();
        Assert.Equal(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"], statuses);
        Assert.Contains(File.ReadAllText(Path.Combine(Www, "style.css")), text);
    }

    [Fact]
    public async Task Sequential_mode_closes_after_every_response()
    {
        await using var server = Start(Www, WebServerMode.Sequential);
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        var exchange = await connection.GetAsync("/HelloWorld.html");
        Assert.Equal("close", exchange.Header("Connection"));
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
    }

    [Fact]
    public async Task Slow_and_silent_clients_are_closed_after_the_header_timeout()
    {
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { HeaderTimeout = TimeSpan.FromMilliseconds(500) });
        var clock = Stopwatch.StartNew();
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, server.Port);
        using var slow = new TcpClient();
        await slow.ConnectAsync(IPAddress.Loopback, server.Port);
        await slow.GetStream().WriteAsync("GET /HelloWorld.html HTTP/1.1\r\nHo"u8.ToArray());

        // Both are closed by the server; a normal client after them is served.
        Assert.True(await ClosedByServerAsync(silent, TimeSpan.FromSeconds(5)));
        Assert.True(await ClosedByServerAsync(slow, TimeSpan.FromSeconds(5)));
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html")).StatusCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 5);
        Assert.Equal(2, server.Counters.TimedOut);
        Assert.Contains(await server.AccessLogAsync(2), e => e.Status == 408);
    }

    [Fact]
    public async Task Idle_keep_alive_connections_are_closed_after_the_keep_alive_timeout()
    {
        await using var server = Start(Www, tweak: o => o with { KeepAliveTimeout = TimeSpan.FromMilliseconds(300) });
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port);
        Assert.Equal(200, (await connection.GetAsync("/HelloWorld.html")).StatusCode);
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
        Assert.Single(await server.AccessLogAsync(1)); // an idle close is not a request
    }

    [Fact]
    public async Task Clients_that_vanish_mid_request_or_mid_response_do_not_hurt()
    {
        var large = _site.AddFile("large.bin", 8 * 1024 * 1024, seed: 5);
        await using var server = Start(_site.Root);
        for (var i = 0; i < 20; i++)
        {
            // Mid-request: half a head, then a reset.
            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                await client.ConnectAsync(IPAddress.Loopback, server.Port);
                await client.SendAsync("GET /large.bin HTTP/1.1\r\nHo"u8.ToArray());
                client.LingerState = new LingerOption(true, 0);
            }
            // Mid-response: read a little of a large file, then a reset.
            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                await client.ConnectAsync(IPAddress.Loopback, server.Port);
                await client.SendAsync("GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                await client.ReceiveAsync(new byte[1000]);
                client.LingerState = new LingerOption(true, 0);
            }
        }
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
        Assert.Equal(large, (await server.GetAsync("/large.bin")).Body);
        Assert.Equal(0, server.Counters.HandlerFailures);
        Assert.True(await EventuallyAsync(() => server.Log.Any(e => e.Note == "client went away")));
    }

    [Fact]
    public async Task Port_zero_gives_an_ephemeral_port_and_a_port_in_use_a_clear_error()
    {
        await using var server = Start(Www);
        Assert.NotEqual(0, server.Port);
        Assert.Equal(new Uri($"http://127.0.0.1:{server.Port}/"), server.Url);
        var error = Assert.Throws<ServerStartException>(() => WebServer.Start(new WebServerOptions { Root = Www, Port = server.Port }));
        Assert.Contains($"port {server.Port}", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("already in use", error.Message);
        Assert.Contains("port 0", error.Message);
    }

    [Fact]
    public void A_missing_root_is_a_clear_error() =>
        Assert.Contains("does not exist", Assert.Throws<ServerStartException>(() => WebServer.Start(new WebServerOptions { Root = "/no/such/folder" })).Message);

    [Fact]
    public async Task Binds_loopback_unless_told_otherwise()
    {
        await using var loopback = Start(Www);
        Assert.Equal(IPAddress.Loopback, loopback.EndPoint.Address);
        await using var everywhere = Start(Www, tweak: o => o with { Address = IPAddress.Any });
        Assert.Equal(IPAddress.Any, everywhere.EndPoint.Address);
        Assert.Equal($"http://127.0.0.1:{everywhere.Port}/", everywhere.Url.ToString());
        Assert.Equal(200, (await everywhere.GetAsync("HelloWorld.html")).StatusCode);
    }

    [Fact]
    public async Task Stopping_lets_a_request_in_flight_finish_and_closes_idle_connections_at_once()
    {
        var release = new TaskCompletionSource();
        var server = Start(Www, tweak: o => o with
        {
            Handler = async connection =>
            {
                // A slow "student" handler: reads the request, waits, answers.
                var buffer = new byte[4096];
                await connection.Socket.ReceiveAsync(buffer, SocketFlags.None);
                await release.Task;
                await connection.Socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone"u8.ToArray(), SocketFlags.None);
            },
        });
        var inFlight = server.GetAsync("/anything");
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 1));
        var stopping = server.StopAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        Assert.Equal("done", (await inFlight).BodyText);
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(server.Completion.IsCompleted);
        await Assert.ThrowsAnyAsync<SocketException>(() => server.GetAsync("/"));

        // Idle keep-alive connection: stop does not wait for it.
        var second = Start(Www, tweak: o => o with { KeepAliveTimeout = TimeSpan.FromMinutes(1) });
        await using var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", second.Port);
        Assert.Equal(200, (await connection.GetAsync("/HelloWorld.html")).StatusCode);
        var clock = Stopwatch.StartNew();
        await second.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"stop took {clock.Elapsed}");
    }

    [Fact]
    public async Task Stopping_is_bounded_even_when_a_handler_hangs()
    {
        var reports = new List<string>();
        var hang = new TaskCompletionSource();
        var server = Start(Www, tweak: o => o with
        {
            Handler = _ => hang.Task, // a student's handler stuck in a loop that never looks at its socket
            HeaderTimeout = TimeSpan.FromMinutes(5),
            Diagnostics = message => { lock (reports) reports.Add(message); },
        });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, server.Port);
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 1));
        var clock = Stopwatch.StartNew();
        await server.StopAsync(TimeSpan.FromMilliseconds(300)).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.25, 3);
        Assert.True(await ClosedByServerAsync(client, TimeSpan.FromSeconds(2)));
        lock (reports) Assert.Contains(reports, r => r.Contains("still running"));
        hang.SetResult();
    }

    [Fact]
    public async Task A_student_handler_replaces_the_connection_handling()
    {
        await using var server = Start(Www, WebServerMode.Sequential, o => o with
        {
            Handler = async connection =>
            {
                // What the lab's Python skeleton does, over the connection's Stream.
                var buffer = new byte[1024];
                var n = await connection.Stream.ReadAsync(buffer);
                var filename = Encoding.ASCII.GetString(buffer, 0, n).Split(' ')[1];
                var content = await File.ReadAllBytesAsync(Path.Join(connection.RealRoot, filename));
                await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {content.Length}\r\n\r\n"));
                await connection.Stream.WriteAsync(content);
                connection.Log("GET", filename, 200, content.Length, TimeSpan.Zero, "student handler");
            },
        });
        var exchange = await server.GetAsync("/HelloWorld.html");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Www, "HelloWorld.html")), exchange.Body);
        Assert.Equal("student handler", Assert.Single(await server.AccessLogAsync(1)).Note);
    }

    [Fact]
    public async Task A_failing_handler_is_counted_and_reported_not_thrown()
    {
        var reports = new List<string>();
        await using var server = Start(Www, tweak: o => o with
        {
            Handler = _ => throw new InvalidOperationException("student bug"),
            Diagnostics = message => { lock (reports) reports.Add(message); },
        });
        await Assert.ThrowsAnyAsync<Exception>(() => server.GetAsync("/")); // closed (or reset) without an answer
        Assert.True(await EventuallyAsync(() => server.Counters.HandlerFailures == 1));
        lock (reports) Assert.Contains(reports, r => r.Contains("student bug"));
    }

    [Fact]
    public async Task The_access_log_records_every_request()
    {
        await using var server = Start(Www, tweak: o => o with { LogCapacity = 3 });
        var seen = new List<AccessLogEntry>();
        server.Logged += e => { lock (seen) seen.Add(e); };
        await server.GetAsync("/HelloWorld.html");
        await server.GetAsync("/nope");
        await server.GetAsync("/images/logo.png", new HttpRawRequestOptions { Method = "HEAD" });
        await server.GetAsync("/style.css");
        Assert.True(await EventuallyAsync(() => { lock (seen) return seen.Count == 4; }));
        var log = server.Log;
        Assert.Equal(3, log.Count); // capacity
        Assert.Equal(["/nope", "/images/logo.png", "/style.css"], log.Select(e => e.Target));
        Assert.Equal([404, 200, 200], log.Select(e => e.Status));
        Assert.Equal("HEAD", log[1].Method);
        Assert.All(log, e => Assert.True(e.Bytes > 0 && e.Duration >= TimeSpan.Zero));
        lock (seen) Assert.Equal(4, seen.Count);
        Assert.Contains("/style.css", server.LogTable().ToHtml());
        Assert.Contains("200", log[2].ToString());
    }

    [Fact]
    public async Task Sequential_makes_quick_clients_wait_behind_a_slow_one_and_concurrent_does_not()
    {
        await using var sequential = Start(Www, WebServerMode.Sequential);
        await using var concurrent = Start(Www, WebServerMode.Concurrent);
        var slow = TimeSpan.FromMilliseconds(800);
        var seq = await ConcurrencyExperiment.RunAsync("sequential", "127.0.0.1", sequential.Port, "/HelloWorld.html", clients: 4, slowClients: 1, slowFor: slow);
        var conc = await ConcurrencyExperiment.RunAsync("concurrent", "127.0.0.1", concurrent.Port, "/HelloWorld.html", clients: 4, slowClients: 1, slowFor: slow);
        Assert.All(seq.Clients.Concat(conc.Clients), c => Assert.Equal(200, c.Status));
        // Relative, not absolute, bounds: a loaded machine slows every client, but cannot change who waits for whom.
        Assert.All(seq.Clients.Where(c => !c.Slow), c => Assert.True(c.Duration > slow * 0.6, $"sequential {c} did not wait behind the slow client"));
        var slowConcurrent = Assert.Single(conc.Clients, c => c.Slow);
        Assert.All(conc.Clients.Where(c => !c.Slow), c => Assert.True(c.Duration < slowConcurrent.Duration, $"concurrent {c} waited for the slow client {slowConcurrent}"));
        var figure = ConcurrencyExperiment.CompletionChart("one slow client among four", seq, conc).ToFigureJson();
        Assert.Contains("\"barmode\":\"group\"", figure);
        Assert.Contains("\"type\":\"log\"", figure); // a few ms and a second both visible
        Assert.Contains("one slow client among four", figure);
    }
}

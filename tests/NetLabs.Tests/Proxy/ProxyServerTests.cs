using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Hosting;
using NetLabs.Proxy;
using NetLabs.Tests.Support;
using static NetLabs.Tests.Proxy.ProxyTesting;

namespace NetLabs.Tests.Proxy;

/// <summary>The proxy on loopback with our web server or a scripted origin behind it, and HttpClient or raw sockets in front.</summary>
public class ProxyServerTests : IDisposable
{
    private readonly OriginSite _site = new();

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task A_second_request_is_a_hit_that_never_reaches_the_origin_and_binary_bytes_are_exact()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        var url = new Uri(origin.Url, "data.bin");

        using var first = await client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("MISS", XCache(first));
        Assert.Equal(_site.Binary, await first.Content.ReadAsByteArrayAsync());
        Assert.Contains(first.Headers.Via, v => v.ReceivedBy == proxy.Pseudonym);

        using var second = await client.GetAsync(url);
        Assert.Equal("HIT", XCache(second));
        Assert.Equal(_site.Binary, await second.Content.ReadAsByteArrayAsync());
        Assert.True(second.Headers.Age.HasValue);

        Assert.True(await Poll.UntilAsync(() => OriginRequests(origin) >= 1, Wait));
        Assert.Equal(1, OriginRequests(origin));
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Requests == 2, Wait)); // logged just after the answer is sent
        Assert.Equal((1, 1), (proxy.Counters.Hits, proxy.Counters.Misses));
        Assert.Contains(proxy.Log, e => e.Cache == CacheResult.Hit && e.Bytes == _site.Binary.Length);
    }

    [Fact]
    public async Task Origin_404_is_passed_through()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        using var response = await client.GetAsync(new Uri(origin.Url, "missing.html"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("MISS", XCache(response));
    }

    [Fact]
    public async Task A_client_no_cache_request_revalidates_with_the_origin_which_answers_304()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        var url = new Uri(origin.Url, "logo.png");
        using (var first = await client.GetAsync(url)) Assert.Equal("MISS", XCache(first));

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.CacheControl = new System.Net.Http.Headers.CacheControlHeaderValue { NoCache = true };
        using var second = await client.SendAsync(request);
        Assert.Equal("REVALIDATED", XCache(second));
        Assert.Equal(_site.Image, await second.Content.ReadAsByteArrayAsync());
        Assert.True(await Poll.UntilAsync(() => OriginRequests(origin) >= 2, Wait));
        Assert.Equal([200, 304], origin.Log.Select(e => e.Status));
    }

    [Fact]
    public async Task A_stale_object_is_revalidated_with_its_etag_and_served_from_the_cache_on_304()
    {
        await using var origin = new ScriptedOrigin(async (head, number, stream) =>
        {
            var answer = head.Contains("If-None-Match: \"v1\"")
                ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=0\r\nConnection: close\r\nKeep-Alive: timeout=5\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nCache-Control: max-age=0\r\nContent-Length: 5\r\n\r\nhello";
            await stream.WriteAsync(Encoding.Latin1.GetBytes(answer));
        });
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        using (var first = await client.GetAsync(origin.Url("/v"))) Assert.Equal("MISS", XCache(first));
        using var second = await client.GetAsync(origin.Url("/v"));
        Assert.Equal("REVALIDATED", XCache(second));
        Assert.Equal("hello", await second.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Requests.Count);
        Assert.Contains("If-None-Match: \"v1\"", origin.Requests[1]);
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Revalidated == 1, Wait));

        // The 304's hop-by-hop fields were about its own connection: they never join the stored object.
        var (raw, _) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/v")} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var text = Encoding.Latin1.GetString(raw);
        Assert.Contains("X-Cache: REVALIDATED\r\n", text);
        Assert.Single(text.Split("\r\n"), l => l.StartsWith("Connection:"));
        Assert.DoesNotContain("Keep-Alive:", text);
    }

    [Fact]
    public async Task A_clients_own_conditional_request_is_answered_304_from_the_cache_without_the_origin()
    {
        await using var origin = ScriptedOrigin.Answering(
            "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nLast-Modified: Mon, 16 Nov 2026 10:00:00 GMT\r\nCache-Control: max-age=600\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
        await using var proxy = StartProxy();
        async Task<string> GetAsync(string fields)
        {
            var (raw, _) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/v")} HTTP/1.1\r\nHost: x\r\n{fields}Connection: close\r\n\r\n");
            return Encoding.Latin1.GetString(raw);
        }
        Assert.EndsWith("hello", await GetAsync(""));
        var notModified = await GetAsync("If-None-Match: \"v1\"\r\n");
        Assert.StartsWith("HTTP/1.1 304 Not Modified\r\n", notModified);
        Assert.EndsWith("\r\n\r\n", notModified); // no body
        Assert.Contains("ETag: \"v1\"\r\n", notModified);
        Assert.Contains("X-Cache: HIT\r\n", notModified);
        Assert.DoesNotContain("Content-Type", notModified);
        Assert.StartsWith("HTTP/1.1 304 ", await GetAsync("If-Modified-Since: Mon, 16 Nov 2026 10:00:00 GMT\r\n"));
        var changed = await GetAsync("If-None-Match: \"v0\"\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", changed);
        Assert.EndsWith("hello", changed);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await GetAsync("If-Modified-Since: Sun, 15 Nov 2026 10:00:00 GMT\r\n"));
        Assert.Single(origin.Requests);
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Hits == 4, Wait));
        Assert.Equal(2, proxy.Log.Count(e => e.Status == 304));
    }

    [Fact]
    public async Task A_304_the_origin_gives_to_a_clients_conditional_miss_is_passed_on_and_never_stored()
    {
        await using var origin = new ScriptedOrigin((head, number, stream) => stream.WriteAsync(Encoding.Latin1.GetBytes(head.Contains("If-None-Match")
            ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=600\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nCache-Control: max-age=600\r\nContent-Length: 5\r\n\r\nhello")).AsTask());
        await using var proxy = StartProxy();
        var (first, _) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/v")} HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"v1\"\r\nConnection: close\r\n\r\n");
        Assert.Equal(304, Status(first));
        using var client = ClientThrough(proxy);
        using var second = await client.GetAsync(origin.Url("/v"));
        Assert.Equal("MISS", XCache(second));
        Assert.Equal("hello", await second.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Requests.Count);
    }

    [Theory]
    [InlineData("Cache-Control: no-store\r\n")]
    [InlineData("Cache-Control: private, max-age=600\r\n")]
    [InlineData("Cache-Control: max-age=600\r\nAge: 700\r\n")]            // already older than its lifetime
    [InlineData("Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\n")]
    [InlineData("Vary: *\r\nCache-Control: max-age=600\r\n")]
    [InlineData("Vary: Accept-Encoding, *\r\nCache-Control: max-age=600\r\n")]
    public async Task Objects_the_rules_forbid_or_that_are_stale_go_to_the_origin_every_time(string fields)
    {
        await using var origin = ScriptedOrigin.Answering($"HTTP/1.1 200 OK\r\n{fields}Content-Length: 2\r\n\r\nok");
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync(origin.Url("/x"));
            Assert.Equal("MISS", XCache(response));
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task Max_age_keeps_an_object_fresh_and_vary_separates_variants()
    {
        await using var origin = new ScriptedOrigin((head, number, stream) =>
            stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nVary: Accept-Language\r\nContent-Length: 1\r\n\r\n{number}")).AsTask());
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        async Task<string> GetAsync(string language)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, origin.Url("/v"));
            request.Headers.AcceptLanguage.ParseAdd(language);
            using var response = await client.SendAsync(request);
            return XCache(response) + " " + await response.Content.ReadAsStringAsync();
        }
        Assert.Equal("MISS 1", await GetAsync("fr"));
        Assert.Equal("HIT 1", await GetAsync("fr"));
        Assert.Equal("MISS 2", await GetAsync("de"));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task Post_is_forwarded_with_its_body_never_cached_and_invalidates_the_cached_get()
    {
        await using var origin = new ScriptedOrigin((head, number, stream) =>
        {
            var body = head[(head.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            var answer = $"got {head.Split(' ')[0]} {body}";
            return stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: {answer.Length}\r\n\r\n{answer}")).AsTask();
        });
        await using var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        using (var get = await client.GetAsync(origin.Url("/form"))) Assert.Equal("MISS", XCache(get));
        using (var hit = await client.GetAsync(origin.Url("/form"))) Assert.Equal("HIT", XCache(hit));
        for (var i = 0; i < 2; i++)
        {
            using var post = await client.PostAsync(origin.Url("/form"), new StringContent("name=ada"));
            Assert.Equal("got POST name=ada", await post.Content.ReadAsStringAsync());
            Assert.Equal("MISS", XCache(post)); // it went to the origin
        }
        Assert.True(await Poll.UntilAsync(() => proxy.Log.Count(e => e.Method == "POST" && e.Cache == CacheResult.None) == 2, Wait));
        using (var again = await client.GetAsync(origin.Url("/form"))) Assert.Equal("MISS", XCache(again));
        Assert.Equal(4, origin.Requests.Count);
    }

    [Fact]
    public async Task A_chunked_reply_is_relayed_decoded_to_http_1_0_and_rechunked_to_http_1_1_and_cached_whole()
    {
        await using var origin = ScriptedOrigin.Answering(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=600\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
        await using var proxy = StartProxy();
        var (old, closed) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/c")} HTTP/1.0\r\n\r\n");
        var text = Encoding.Latin1.GetString(old);
        Assert.True(closed);
        Assert.DoesNotContain("chunked", text);
        Assert.EndsWith("\r\n\r\nhello, world", text);

        // Now cached: an HTTP/1.1 client gets it with its length, from the cache.
        var (cached, _) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/c")} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var cachedText = Encoding.Latin1.GetString(cached);
        Assert.Contains("X-Cache: HIT\r\n", cachedText);
        Assert.Contains("Content-Length: 12\r\n", cachedText);
        Assert.EndsWith("hello, world", cachedText);
        Assert.Single(origin.Requests);
    }

    [Fact]
    public async Task A_read_until_close_reply_reaches_an_http_1_1_client_chunked()
    {
        await using var origin = ScriptedOrigin.Answering("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        await using var proxy = StartProxy();
        var (received, _) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/old")} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var text = Encoding.Latin1.GetString(received);
        Assert.Contains("Transfer-Encoding: chunked\r\n", text);
        Assert.EndsWith("\r\n\r\nd\r\nuntil the end\r\n0\r\n\r\n", text);
    }

    [Fact]
    public async Task An_origin_that_closes_mid_body_cuts_the_client_off_and_the_fragment_is_never_cached()
    {
        await using var origin = ScriptedOrigin.Answering("HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 1000\r\n\r\nonly forty bytes of a thousand, then bye");
        await using var proxy = StartProxy();
        for (var i = 0; i < 2; i++)
        {
            var (received, closed) = await ExchangeAsync(proxy.Port, $"GET {origin.Url("/cut")} HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.True(closed);
            Assert.Contains("X-Cache: MISS", Encoding.Latin1.GetString(received));
            Assert.EndsWith("then bye", Encoding.Latin1.GetString(received));
        }
        Assert.Equal(2, origin.Requests.Count);
        Assert.Equal(0, proxy.Cache.Statistics.Objects);
        Assert.True(await Poll.UntilAsync(() => proxy.Log.Any(e => e.Note == "origin closed mid-body, not cached"), Wait));
    }

    [Fact]
    public async Task An_origin_that_never_answers_gets_504_and_one_that_is_not_there_502()
    {
        await using var silent = new ScriptedOrigin((_, _, _) => Task.Delay(Wait));
        await using var proxy = StartProxy(o => o with { OriginTimeout = TimeSpan.FromMilliseconds(300) });
        var (received, _) = await ExchangeAsync(proxy.Port, $"GET {silent.Url("/")} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(504, Status(received));

        var refused = PeerPorts.Free();
        (received, _) = await ExchangeAsync(proxy.Port, $"GET http://127.0.0.1:{refused}/ HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(502, Status(received));
        Assert.Contains("refused the connection", Encoding.Latin1.GetString(received));

        (received, _) = await ExchangeAsync(proxy.Port, "GET http://no-such-host.invalid/ HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(502, Status(received));
        Assert.Contains("does not resolve", Encoding.Latin1.GetString(received));
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.OriginFailures == 3, Wait));
    }

    [Theory]
    [InlineData("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400)]
    [InlineData("garbage\r\n\r\n", 400)]
    [InlineData("GET http://x/ HTTP/2.0\r\n\r\n", 505)]
    [InlineData("GET http://x/ SMTP\r\n\r\n", 400)]
    [InlineData("BREW http://x/ HTTP/1.1\r\n\r\n", 501)]
    [InlineData("TRACE http://x/ HTTP/1.1\r\n\r\n", 405)]
    [InlineData("GET https://x/ HTTP/1.1\r\n\r\n", 501)]
    [InlineData("GET ftp://x/ HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET http://user@x/ HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET http://x/ HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400)]
    [InlineData("POST http://x/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400)]
    public async Task Requests_a_proxy_cannot_forward_get_a_clear_error_and_a_close(string request, int status)
    {
        await using var proxy = StartProxy();
        var (received, closed) = await ExchangeAsync(proxy.Port, request);
        Assert.Equal(status, Status(received));
        Assert.True(closed);
        Assert.Contains("<h1>" + status, Encoding.UTF8.GetString(received));
    }

    [Fact]
    public async Task Heads_beyond_the_limits_get_414_and_431()
    {
        await using var proxy = StartProxy();
        var (received, _) = await ExchangeAsync(proxy.Port, $"GET http://x/{new string('a', 9000)} HTTP/1.1\r\n\r\n");
        Assert.Equal(414, Status(received));
        (received, _) = await ExchangeAsync(proxy.Port, $"GET http://x/ HTTP/1.1\r\nX-Big: {new string('b', 40_000)}\r\n\r\n");
        Assert.Equal(431, Status(received));
        (received, _) = await ExchangeAsync(proxy.Port, "GET http://x/ HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-{i}: y\r\n")) + "\r\n");
        Assert.Equal(431, Status(received));
        Assert.Equal(ServerState.Running, proxy.State);
    }

    [Fact]
    public async Task Requests_for_the_proxy_itself_or_already_through_it_are_refused_as_loops()
    {
        await using var proxy = StartProxy();
        var (received, _) = await ExchangeAsync(proxy.Port, $"GET http://127.0.0.1:{proxy.Port}/ HTTP/1.1\r\n\r\n");
        Assert.Equal(508, Status(received));
        (received, _) = await ExchangeAsync(proxy.Port, $"GET http://localhost:{proxy.Port}/ HTTP/1.1\r\n\r\n");
        Assert.Equal(508, Status(received));
        (received, _) = await ExchangeAsync(proxy.Port, $"GET http://example.invalid/ HTTP/1.1\r\nVia: 1.1 {proxy.Pseudonym}\r\n\r\n");
        Assert.Equal(508, Status(received));
    }

    [Fact]
    public void Only_loopback_and_the_allowed_networks_are_served()
    {
        using var _ = new Disposer(StartProxy(o => o with { Allow = [IPNetwork.Parse("10.0.0.0/24"), IPNetwork.Parse("192.168.5.7/32")] }), out var proxy);
        Assert.True(proxy.IsAllowed(IPAddress.Loopback));
        Assert.True(proxy.IsAllowed(IPAddress.Parse("10.0.0.200")));
        Assert.True(proxy.IsAllowed(IPAddress.Parse("::ffff:192.168.5.7")));
        Assert.False(proxy.IsAllowed(IPAddress.Parse("10.0.1.1")));
        Assert.False(proxy.IsAllowed(IPAddress.Parse("192.168.5.8")));
        using var __ = new Disposer(StartProxy(), out var closed);
        Assert.False(closed.IsAllowed(IPAddress.Parse("10.0.0.1")));
    }

    private sealed class Disposer : IDisposable
    {
        private readonly ProxyServer _proxy;
        public Disposer(ProxyServer proxy, out ProxyServer value) => _proxy = value = proxy;
        public void Dispose() => _proxy.StopAsync().Wait(Wait);
    }

    [Fact]
    public async Task Connect_tunnels_bytes_both_ways_to_allowed_ports_only()
    {
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var echoPort = ((IPEndPoint)echo.LocalEndpoint).Port;
        var echoing = Task.Run(async () =>
        {
            using var peer = await echo.AcceptTcpClientAsync();
            var stream = peer.GetStream();
            var buffer = new byte[1024];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0) await stream.WriteAsync(buffer.AsMemory(0, n));
        });
        await using var proxy = StartProxy(o => o with { ConnectPorts = [443, echoPort] });
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port).WaitAsync(Wait);
        var stream = client.GetStream();
        // The CONNECT and the first tunnelled bytes in one write, as TLS clients that pipeline do.
        await stream.WriteAsync(Encoding.Latin1.GetBytes($"CONNECT 127.0.0.1:{echoPort} HTTP/1.1\r\nHost: 127.0.0.1:{echoPort}\r\n\r\nsecret-bytes"));
        var received = new MemoryStream();
        var buffer = new byte[1024];
        using var deadline = new CancellationTokenSource(Wait);
        while (!Encoding.Latin1.GetString(received.ToArray()).EndsWith("secret-bytes"))
            received.Write(buffer, 0, await stream.ReadAsync(buffer, deadline.Token));
        Assert.StartsWith("HTTP/1.1 200 Connection Established\r\n", Encoding.Latin1.GetString(received.ToArray()));
        client.Client.Shutdown(SocketShutdown.Send);
        await echoing.WaitAsync(Wait);
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Tunnels == 1, Wait));

        var (refused, _) = await ExchangeAsync(proxy.Port, "CONNECT 127.0.0.1:25 HTTP/1.1\r\n\r\n");
        Assert.Equal(403, Status(refused));
    }

    [Fact]
    public async Task A_body_larger_than_the_object_limit_is_streamed_exactly_and_not_kept()
    {
        var big = _site.Add("big.bin", OriginSite.RandomBytes(6_000_000, seed: 9));
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy(o => o with { MaxObjectBytes = 1_000_000 });
        using var client = ClientThrough(proxy);
        for (var i = 0; i < 2; i++)
        {
            using var response = await client.GetAsync(new Uri(origin.Url, "big.bin"));
            Assert.Equal("MISS", XCache(response));
            Assert.Equal(big, await response.Content.ReadAsByteArrayAsync());
        }
        Assert.Equal(0, proxy.Cache.Statistics.Objects);
    }

    [Fact]
    public async Task Copies_in_flight_share_the_cache_budget_so_parallel_large_misses_cannot_multiply_memory()
    {
        var body = OriginSite.RandomBytes(600_000, seed: 3);
        ScriptedOrigin? origin = null;
        origin = new ScriptedOrigin(async (_, _, stream) =>
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: {body.Length}\r\n\r\n"));
            await stream.WriteAsync(body.AsMemory(0, 300_000));
            // Every copy is half made when the three requests are all in flight.
            await Poll.UntilAsync(() => origin!.Requests.Count == 3, Wait);
            await stream.WriteAsync(body.AsMemory(300_000));
        });
        await using var _ = origin;
        await using var proxy = StartProxy(o => o with { CacheBytes = 1_000_000, MaxObjectBytes = 700_000 });
        using var client = ClientThrough(proxy);
        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => client.GetByteArrayAsync(origin.Url($"/big{i}"))));
        Assert.All(answers, a => Assert.Equal(body, a));
        Assert.Equal(1, proxy.Cache.Statistics.Objects); // the budget held one copy; the others were relayed and forgotten
    }

    [Fact]
    public async Task Keep_alive_serves_several_requests_on_one_connection_even_split_in_pieces()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port).WaitAsync(Wait);
        client.NoDelay = true;
        var stream = client.GetStream();
        var request = Encoding.Latin1.GetBytes($"GET {new Uri(origin.Url, "index.html")} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        foreach (var piece in request.Chunk(7))
        {
            await stream.WriteAsync(piece);
            await Task.Delay(5);
        }
        await stream.WriteAsync(Encoding.Latin1.GetBytes($"GET {new Uri(origin.Url, "index.html")} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var all = await reader.ReadToEndAsync().WaitAsync(Wait);
        Assert.Equal(2, all.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.Contains("X-Cache: MISS", all);
        Assert.Contains("X-Cache: HIT", all);
        Assert.Equal(1, proxy.Counters.Connections); // counted on accept, before any answer
    }

    [Fact]
    public async Task A_hundred_clients_at_once_are_all_served_and_the_origin_sees_few_of_them()
    {
        await using var origin = StartWebOrigin(_site.Root);
        await using var proxy = StartProxy();
        var files = new[] { "index.html", "logo.png", "data.bin" };
        await ExchangeAsync(proxy.Port, $"GET {new Uri(origin.Url, "index.html")} HTTP/1.0\r\n\r\n"); // in the cache before the crowd comes
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            var file = files[i % files.Length];
            var (received, _) = await ExchangeAsync(proxy.Port, $"GET {new Uri(origin.Url, file)} HTTP/1.0\r\n\r\n");
            var text = Encoding.Latin1.GetString(received);
            return (Status: Status(received), Length: received.Length - text.IndexOf("\r\n\r\n", StringComparison.Ordinal) - 4, File: file);
        }));
        Assert.All(results, r => Assert.Equal(200, r.Status));
        Assert.All(results, r => Assert.Equal(new FileInfo(Path.Combine(_site.Root, r.File)).Length, r.Length));
        Assert.True(await Poll.UntilAsync(() => proxy.Counters.Requests == 101, Wait));
        Assert.Equal(101, proxy.Counters.Hits + proxy.Counters.Misses);
        Assert.True(proxy.Counters.Hits >= 34); // every index.html of the crowd at least
        Assert.True(await Poll.UntilAsync(() => OriginRequests(origin) == proxy.Counters.Misses, Wait));
    }

    [Fact]
    public async Task A_cache_folder_keeps_objects_across_a_restart()
    {
        var folder = Directory.CreateTempSubdirectory("netlabs-proxy-cache-").FullName;
        try
        {
            await using var origin = StartWebOrigin(_site.Root);
            var url = new Uri(origin.Url, "logo.png");
            await using (var proxy = StartProxy(o => o with { CacheDirectory = folder }))
            {
                using var client = ClientThrough(proxy);
                using var response = await client.GetAsync(url);
                Assert.Equal("MISS", XCache(response));
            }
            await using (var restarted = StartProxy(o => o with { CacheDirectory = folder }))
            {
                Assert.Equal(1, restarted.Cache.Statistics.DiskObjects);
                using var client = ClientThrough(restarted);
                using var response = await client.GetAsync(url);
                Assert.Equal("HIT", XCache(response));
                Assert.Equal(_site.Image, await response.Content.ReadAsByteArrayAsync());
            }
            Assert.True(await Poll.UntilAsync(() => OriginRequests(origin) >= 1, Wait));
            Assert.Equal(1, OriginRequests(origin));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Stopping_closes_idle_kept_alive_clients_and_is_idempotent()
    {
        await using var origin = StartWebOrigin(_site.Root);
        var proxy = StartProxy();
        using var client = ClientThrough(proxy);
        using (var response = await client.GetAsync(new Uri(origin.Url, "index.html"))) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var first = proxy.StopAsync();
        var second = proxy.StopAsync();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(4)); // well within the 5 s drain: the idle client was closed at once
        Assert.Equal(ServerState.Stopped, proxy.State);
    }

    [Fact]
    public void Bad_options_and_a_taken_port_fail_to_start_with_a_sentence()
    {
        var e = Assert.Throws<ServerStartException>(() => StartProxy(o => o with { CacheBytes = -1 }));
        Assert.Contains("cache size", e.Message);
        using var _ = new Disposer(StartProxy(), out var running);
        var taken = Assert.Throws<ServerStartException>(() => StartProxy(o => o with { Port = running.Port }));
        Assert.Contains("already in use", taken.Message);
    }
}

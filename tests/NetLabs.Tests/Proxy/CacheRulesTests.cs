using System.Text;
using NetLabs.Proxy;

namespace NetLabs.Tests.Proxy;

/// <summary>The cache's rules (RFC 9111), its LRU bound, and body framing, each alone.</summary>
public class CacheRulesTests
{
    private static HttpHead Head(string text) => HttpHead.Parse(Encoding.Latin1.GetBytes(text.TrimEnd('\n').Replace("\n", "\r\n")), 100);

    private static CachedResponse Object(string url, int bodyBytes) =>
        new(url, 200, "OK", [], new byte[bodyBytes], DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromHours(1), []);

    [Theory]
    [InlineData("Cache-Control: s-maxage=30, max-age=10", 30)]
    [InlineData("Cache-Control: max-age=10", 10)]
    [InlineData("Cache-Control: no-cache, max-age=10", 0)]
    [InlineData("Date: Fri, 27 Nov 2026 10:00:00 GMT\nExpires: Fri, 27 Nov 2026 10:05:00 GMT", 300)]
    [InlineData("Date: Fri, 27 Nov 2026 10:00:00 GMT\nExpires: 0", 0)]
    [InlineData("Date: Fri, 27 Nov 2026 10:00:00 GMT\nLast-Modified: Fri, 27 Nov 2026 09:00:00 GMT", 360)] // 10 % of an hour
    [InlineData("Date: Fri, 27 Nov 2026 10:00:00 GMT\nLast-Modified: Mon, 27 Nov 2006 10:00:00 GMT", 86_400)] // at most a day
    [InlineData("Content-Type: text/plain", 0)]
    public void Freshness_lifetime_follows_rfc_9111(string fields, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), CachePolicy.FreshnessLifetime(Head($"HTTP/1.1 200 OK\n{fields}")));

    [Theory]
    [InlineData("GET", "", "Cache-Control: max-age=60", null)]
    [InlineData("GET", "", "Cache-Control: no-store", "no-store")]
    [InlineData("GET", "", "Cache-Control: private", "private")]
    [InlineData("GET", "Authorization: Basic eA==\n", "Cache-Control: max-age=60", "authorised request")]
    [InlineData("GET", "Authorization: Basic eA==\n", "Cache-Control: public, max-age=60", null)]
    [InlineData("GET", "Cache-Control: no-store\n", "Cache-Control: max-age=60", "request says no-store")]
    [InlineData("POST", "", "Cache-Control: max-age=60", "POST is never cached")]
    public void What_a_shared_cache_may_store(string method, string requestFields, string responseFields, string? why) =>
        Assert.Equal(why, CachePolicy.WhyNotStorable(Head($"{method} http://x/ HTTP/1.1\n{requestFields}"), 200, Head($"HTTP/1.1 200 OK\n{responseFields}")));

    [Fact]
    public void A_500_without_explicit_freshness_is_not_stored_a_404_is()
    {
        var get = Head("GET http://x/ HTTP/1.1");
        Assert.Equal("status 500", CachePolicy.WhyNotStorable(get, 500, Head("HTTP/1.1 500 Oops")));
        Assert.Null(CachePolicy.WhyNotStorable(get, 404, Head("HTTP/1.1 404 Not Found")));
        // A 304 with a lifetime still answers one client's own conditional request: storing it would serve no body to the next.
        Assert.NotNull(CachePolicy.WhyNotStorable(Head("GET http://x/ HTTP/1.1\nIf-None-Match: \"a\""), 304, Head("HTTP/1.1 304 Not Modified\nCache-Control: max-age=60")));
    }

    [Fact]
    public void Initial_age_adds_the_origins_age_and_the_time_on_the_way()
    {
        var sent = DateTimeOffset.UtcNow;
        var age = CachePolicy.InitialAge(Head("HTTP/1.1 200 OK\nAge: 100"), sent, sent.AddSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(102), age);
    }

    [Fact]
    public void The_least_recently_used_object_is_evicted_first_and_the_bytes_stay_within_capacity()
    {
        var one = Object("http://x:80/1", 1000);
        var cache = new ProxyCache(capacityBytes: 3 * one.Size, maxObjectBytes: 2000);
        cache.Store(one);
        cache.Store(Object("http://x:80/2", 1000));
        cache.Store(Object("http://x:80/3", 1000));
        Assert.NotNull(cache.Get("http://x:80/1")); // 1 is now the most recent; 2 the least
        cache.Store(Object("http://x:80/4", 1000));
        Assert.Null(cache.Get("http://x:80/2"));
        Assert.NotNull(cache.Get("http://x:80/1"));
        Assert.True(cache.Statistics.Bytes <= cache.CapacityBytes);
        Assert.Equal(1, cache.Statistics.Evictions);
        Assert.False(cache.Store(Object("http://x:80/huge", 2001)));
    }

    [Fact]
    public void The_cache_folder_keeps_its_own_lru_order_within_capacity_across_a_restart()
    {
        var folder = Directory.CreateTempSubdirectory("netlabs-proxy-lru-").FullName;
        try
        {
            var fileBytes = new ProxyCache(1_000_000, 2000, Path.Combine(folder, "measure")).Store(Object("http://x:80/9", 1000))
                ? new FileInfo(Directory.GetFiles(Path.Combine(folder, "measure"))[0]).Length : 0;
            Directory.Delete(Path.Combine(folder, "measure"), recursive: true);
            var cache = new ProxyCache(capacityBytes: 4 * fileBytes + fileBytes / 2, maxObjectBytes: 2000, folder); // four files fit
            for (var i = 0; i < 4; i++) cache.Store(Object($"http://x:80/{i}", 1000));
            cache.ClearMemory();
            Assert.NotNull(cache.Get("http://x:80/0")); // read back from the folder: 0 is now its most recently used file, 1 the least
            cache.Store(Object("http://x:80/4", 1000));
            cache.Store(Object("http://x:80/5", 1000));
            Assert.Equal(4, cache.Statistics.DiskObjects);
            Assert.True(cache.Statistics.DiskBytes <= cache.CapacityBytes);
            Assert.Equal(4, Directory.GetFiles(folder, "*.cache").Length);

            var restarted = new ProxyCache(cache.CapacityBytes, 2000, folder);
            Assert.Equal(4, restarted.Statistics.DiskObjects);
            Assert.Null(restarted.Get("http://x:80/1"));
            Assert.Null(restarted.Get("http://x:80/2"));
            Assert.All(new[] { 0, 3, 4, 5 }, i => Assert.NotNull(restarted.Get($"http://x:80/{i}")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("If-None-Match: \"v1\"", true)]
    [InlineData("If-None-Match: \"v0\", W/\"v1\"", true)]   // weak comparison
    [InlineData("If-None-Match: *", true)]
    [InlineData("If-None-Match: \"v2\"", false)]
    [InlineData("If-Modified-Since: Tue, 17 Nov 2026 10:00:00 GMT", true)]
    [InlineData("If-Modified-Since: Mon, 16 Nov 2026 09:59:59 GMT", false)]
    [InlineData("If-None-Match: \"v2\"\r\nIf-Modified-Since: Tue, 17 Nov 2026 10:00:00 GMT", false)] // If-None-Match decides alone
    [InlineData("Accept: */*", false)]
    public void A_client_holds_the_current_copy_when_its_validator_matches_the_cached_one(string requestFields, bool current)
    {
        var request = HttpHead.Parse(Encoding.Latin1.GetBytes($"GET http://x/ HTTP/1.1\r\n{requestFields}"), 10);
        var cached = new CachedResponse("http://x:80/", 200, "OK", [new("ETag", "\"v1\""), new("Last-Modified", "Mon, 16 Nov 2026 10:00:00 GMT")], [1],
            DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromHours(1), []);
        Assert.Equal(current, CachePolicy.ClientHasCurrentCopy(request, cached));
    }

    [Fact]
    public async Task A_chunked_body_is_decoded_and_a_cut_one_is_reported_as_incomplete()
    {
        var whole = "5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"u8.ToArray();
        var reader = new HttpMessageReader(new MemoryStream(whole), 4096);
        var body = MessageBody.ForResponse(reader, Head("HTTP/1.1 200 OK\nTransfer-Encoding: chunked"), "GET", 200);
        Assert.Equal("hello world", await ReadAllAsync(body));
        Assert.Equal(4, reader.Buffered); // the next message's bytes stay for the next read

        var cut = new HttpMessageReader(new MemoryStream("5\r\nhel"u8.ToArray()), 4096);
        var cutBody = MessageBody.ForResponse(cut, Head("HTTP/1.1 200 OK\nTransfer-Encoding: chunked"), "GET", 200);
        await Assert.ThrowsAsync<IncompleteBodyException>(() => ReadAllAsync(cutBody));
    }

    private static async Task<string> ReadAllAsync(MessageBody body)
    {
        var all = new MemoryStream();
        var buffer = new byte[3];
        int n;
        while ((n = await body.ReadAsync(buffer, CancellationToken.None)) > 0) all.Write(buffer, 0, n);
        return Encoding.Latin1.GetString(all.ToArray());
    }

    [Theory]
    [InlineData("http://Example.ORG/a?b=1#frag", "example.org", 80, "/a?b=1", "http://example.org:80/a?b=1")]
    [InlineData("http://example.org:8080", "example.org", 8080, "/", "http://example.org:8080/")]
    [InlineData("http://[::1]:81/%7e/../x", "::1", 81, "/%7e/../x", "http://[::1]:81/%7e/../x")]
    public void Absolute_targets_are_taken_apart_without_rewriting_the_path(string target, string host, int port, string path, string key)
    {
        Assert.True(ProxyTarget.TryParseAbsolute(target, out var parsed, out _));
        Assert.Equal((host, port, path, key), (parsed!.Host, parsed.Port, parsed.PathAndQuery, parsed.CacheKey));
    }
}

/// <summary>What .NET's HttpClient really sends to a server and to a proxy (the notebook shows it).</summary>
public class RequestCaptureTests
{
    [Fact]
    public async Task HttpClient_sends_the_path_to_a_server_and_the_whole_url_to_a_proxy()
    {
        var toServer = await RequestCapture.HeadAsync(async at =>
        {
            using var http = new HttpClient();
            await http.GetAsync($"http://{at}/HelloWorld.html");
        });
        var toProxy = await RequestCapture.HeadAsync(async at =>
        {
            using var http = new HttpClient(new SocketsHttpHandler { Proxy = new System.Net.WebProxy($"http://{at}"), UseProxy = true });
            await http.GetAsync("http://origin.example:6789/HelloWorld.html");
        });
        Assert.StartsWith("GET /HelloWorld.html HTTP/1.1\r\n", toServer);
        Assert.StartsWith("GET http://origin.example:6789/HelloWorld.html HTTP/1.1\r\n", toProxy);
        Assert.Contains("Host: origin.example:6789\r\n", toProxy);
    }
}

/// <summary>The notebook's experiment, small: its counts are exact, and an unbounded cache reaches the best possible ratio.</summary>
public class ProxyExperimentTests : IDisposable
{
    private readonly ProxyTesting.OriginSite _site = new();

    public void Dispose() => _site.Dispose();

    [Fact]
    public async Task Hit_ratio_counts_every_request_and_a_cache_holding_everything_misses_only_first_requests()
    {
        for (var k = 0; k < 40; k++) _site.Add($"objects/{k}.bin", ProxyTesting.OriginSite.RandomBytes(1000, k));
        await using var origin = ProxyTesting.StartWebOrigin(_site.Root);
        var workload = new ZipfWorkload(40, 0.9, seed: 7);
        var points = await ProxyExperiments.HitRatioAgainstCacheSizeAsync(k => new Uri(origin.Url, $"objects/{k}.bin"), workload, 200, [0, 1 << 20])
            .WaitAsync(ProxyTesting.Wait);
        Assert.Equal((0L, 200L), (points[0].Hits, points[0].OriginRequests));
        Assert.Equal(200 - points[1].DistinctObjects, points[1].Hits);
        Assert.Equal(points[1].BestPossible, points[1].HitRatio, 6);
        // Every miss of both runs reached the origin, and nothing else did (its own access log).
        var misses = 200 + (200 - (int)points[1].Hits);
        Assert.True(await NetLabs.Tests.Support.Poll.UntilAsync(() => ProxyTesting.OriginRequests(origin) >= misses, ProxyTesting.Wait));
        Assert.Equal(misses, ProxyTesting.OriginRequests(origin));
    }
}

using System.Globalization;
using System.Net;
using NetLabs.Charts;
using NetLabs.Display;

namespace NetLabs.Proxy;

/// <summary>
/// Requests for objects 0…n−1 where object k is asked for with a probability proportional to 1/(k+1)^s (Zipf-like, as
/// web traffic is: a few objects are very popular, most are rarely asked for). Seeded: the same seed, the same sequence.
/// </summary>
public sealed class ZipfWorkload
{
    private readonly double[] _cumulative;
    private readonly Random _random;

    public ZipfWorkload(int objects, double exponent, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(objects, 1);
        Objects = objects;
        Exponent = exponent;
        _random = new Random(seed);
        _cumulative = new double[objects];
        var sum = 0.0;
        for (var k = 0; k < objects; k++) _cumulative[k] = sum += 1 / Math.Pow(k + 1, exponent);
        for (var k = 0; k < objects; k++) _cumulative[k] /= sum;
    }

    public int Objects { get; }
    public double Exponent { get; }

    /// <summary>The next object asked for.</summary>
    public int Next()
    {
        var index = Array.BinarySearch(_cumulative, _random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, Objects - 1);
    }

    public int[] Take(int count) => Enumerable.Range(0, count).Select(_ => Next()).ToArray();

    /// <summary>Share of requests for the <paramref name="top"/> most popular objects.</summary>
    public double ShareOfTop(int top) => top <= 0 ? 0 : _cumulative[Math.Min(top, Objects) - 1];
}

/// <summary>One point of the cache-size experiment.</summary>
/// <remarks><c>DistinctObjects</c>: how many different objects the sequence asks for; each one's first request is a miss
/// whatever the cache, so no cache beats 1 − DistinctObjects / Requests.</remarks>
public sealed record HitRatioPoint(long CacheBytes, int Requests, long Hits, double HitRatio, long OriginRequests, int ObjectsHeld, int DistinctObjects)
{
    public double BestPossible => 1 - (double)DistinctObjects / Requests;
}

/// <summary>The notebook's two cache experiments, measured through a real proxy on loopback.</summary>
public static class ProxyExperiments
{
    /// <summary>
    /// Fetches each URL twice through the proxy (a miss, then a hit) and returns how long each took, in milliseconds.
    /// </summary>
    public static async Task<(double[] MissMs, double[] HitMs)> MissThenHitAsync(ProxyServer proxy, IReadOnlyList<Uri> urls, CancellationToken cancellationToken = default)
    {
        var miss = new List<double>();
        var hit = new List<double>();
        foreach (var url in urls)
        {
            var first = await ProxyRawClient.GetAsync(proxy.EndPoint, url, cancellationToken: cancellationToken).ConfigureAwait(false);
            var second = await ProxyRawClient.GetAsync(proxy.EndPoint, url, cancellationToken: cancellationToken).ConfigureAwait(false);
            (first.Cache == "HIT" ? hit : miss).Add(first.Elapsed.TotalMilliseconds);
            (second.Cache == "HIT" ? hit : miss).Add(second.Elapsed.TotalMilliseconds);
        }
        return (miss.ToArray(), hit.ToArray());
    }

    public static Chart LatencyChart(double[] missMs, double[] hitMs, TimeSpan originDelay) =>
        new($"Time for one object through the proxy (the origin is {originDelay.TotalMilliseconds:0} ms away)",
            Trace.Box($"miss: fetched from the origin ({missMs.Length})", missMs),
            Trace.Box($"hit: served from the cache ({hitMs.Length})", hitMs))
        {
            // Hits take a fraction of a millisecond and misses the origin's delay: on a linear axis the hits' box is a
            // line on 0. A log axis gives each power of ten the same height, so both boxes can be read.
            YTitle = "milliseconds per request (log scale)",
            XTitle = "where the answer came from",
            YLog = true,
        };

    /// <summary>
    /// For each cache size, a fresh proxy (memory only, no delay) receives the same seeded Zipf sequence of requests;
    /// the hit ratio is the proxy's own count, and the origin's requests are its misses.
    /// </summary>
    public static async Task<IReadOnlyList<HitRatioPoint>> HitRatioAgainstCacheSizeAsync(Func<int, Uri> urlOf, ZipfWorkload workload, int requests,
        IEnumerable<long> cacheSizes, CancellationToken cancellationToken = default)
    {
        var sequence = workload.Take(requests);
        var points = new List<HitRatioPoint>();
        foreach (var size in cacheSizes)
        {
            await using var proxy = ProxyServer.Start(new ProxyServerOptions { CacheBytes = size, LogCapacity = 0 });
            using var client = new HttpClient(new SocketsHttpHandler { Proxy = new WebProxy(proxy.Url), UseProxy = true, MaxConnectionsPerServer = 1 });
            foreach (var index in sequence)
            {
                using var response = await client.GetAsync(urlOf(index), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
            }
            // A request is counted just after its answer is sent: stopping waits for that, so the counts are complete.
            await proxy.StopAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var counters = proxy.Counters;
            points.Add(new HitRatioPoint(size, requests, counters.Hits, counters.HitRatio, counters.Misses, proxy.Cache.Statistics.Objects, sequence.Distinct().Count()));
        }
        return points;
    }

    public static Chart HitRatioChart(IReadOnlyList<HitRatioPoint> points, ZipfWorkload workload, long objectBytes) =>
        new($"Hit ratio against cache size: {workload.Objects} objects of {objectBytes / 1024.0:0.#} KiB, Zipf s = {workload.Exponent}, {points.FirstOrDefault()?.Requests} requests",
            Trace.LinesAndMarkers("measured hit ratio (LRU)", points.Select(p => p.CacheBytes / 1024.0), points.Select(p => p.HitRatio)),
            Trace.Lines("best any cache can do: every request but each object's first",
                points.Select(p => p.CacheBytes / 1024.0), points.Select(p => p.BestPossible)))
        {
            XTitle = "cache size (KiB)",
            YTitle = "hit ratio (0 to 1)",
        };

    public static HtmlTable HitRatioTable(IReadOnlyList<HitRatioPoint> points) =>
        new("Hit ratio against cache size", ["cache (KiB)", "objects held", "requests", "hits", "hit ratio", "requests to the origin"],
            points.Select(p => (IReadOnlyList<string>)[(p.CacheBytes / 1024.0).ToString("0", CultureInfo.InvariantCulture),
                p.ObjectsHeld.ToString(CultureInfo.InvariantCulture), p.Requests.ToString(CultureInfo.InvariantCulture), p.Hits.ToString(CultureInfo.InvariantCulture),
                p.HitRatio.ToString("P1", CultureInfo.InvariantCulture), p.OriginRequests.ToString(CultureInfo.InvariantCulture)]));
}

using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Proxy;

/// <summary>Where an answer came from.</summary>
public enum CacheResult
{
    /// <summary>Not a cacheable request (POST, CONNECT, an error of the proxy's own).</summary>
    None,
    /// <summary>Fetched from the origin.</summary>
    Miss,
    /// <summary>Served from the cache without asking the origin.</summary>
    Hit,
    /// <summary>The cached copy was stale; the origin said 304 Not Modified, so the cached body was served.</summary>
    Revalidated,
}

/// <summary>
/// One request through the proxy: the line <c>netlabs proxy serve</c> prints. <c>Bytes</c> counts body bytes sent to
/// the client (both directions for a tunnel); <c>Duration</c> runs from the request's head to its last byte sent.
/// </summary>
public sealed record ProxyLogEntry(DateTimeOffset Time, string Client, string Method, string Url, int Status, CacheResult Cache,
    long Bytes, TimeSpan Duration, string? Note = null)
{
    public string CacheText => Cache switch { CacheResult.Hit => "HIT", CacheResult.Miss => "MISS", CacheResult.Revalidated => "REVALIDATED", _ => "-" };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Time:HH:mm:ss.fff} {Client} {Method} {Url} {Status} {CacheText} {Bytes} B {Duration.TotalMilliseconds:0.0} ms{(Note is null ? "" : " (" + Note + ")")}");

    public static HtmlTable Table(IEnumerable<ProxyLogEntry> entries, string caption) =>
        new(caption, ["time", "client", "method", "URL", "status", "cache", "bytes", "ms", "note"],
            entries.Select(e => (IReadOnlyList<string>)[e.Time.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture), e.Client, e.Method, e.Url,
                e.Status.ToString(CultureInfo.InvariantCulture), e.CacheText, e.Bytes.ToString(CultureInfo.InvariantCulture),
                e.Duration.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture), e.Note ?? ""]));
}

/// <summary>Totals of everything a proxy did (its log keeps only the latest requests).</summary>
public sealed record ProxyCounters(long Connections, long Requests, long Hits, long Misses, long Revalidated, long Tunnels,
    long Refused, long OriginFailures, long BytesFromOrigins, long BytesToClients)
{
    /// <summary>Hits and revalidations among the answers that could come from the cache.</summary>
    public double HitRatio => Hits + Misses + Revalidated == 0 ? 0 : (double)(Hits + Revalidated) / (Hits + Misses + Revalidated);
}

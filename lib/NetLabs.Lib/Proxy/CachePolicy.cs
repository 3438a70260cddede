using System.Globalization;

namespace NetLabs.Proxy;

/// <summary>
/// The rules of a shared HTTP cache (RFC 9111) that the proxy follows: what may be stored, for how long it is fresh,
/// and when a request must go to the origin anyway. Pure functions of the heads, so each rule is tested alone.
/// </summary>
public static class CachePolicy
{
    /// <summary>Most a heuristic freshness may be: a day, as RFC 9111 §4.2.2 suggests.</summary>
    public static readonly TimeSpan MaxHeuristicLifetime = TimeSpan.FromDays(1);

    /// <summary>Statuses a cache may store without explicit freshness (RFC 9110 §15.1 "heuristically cacheable").</summary>
    public static bool IsHeuristicallyCacheable(int status) => status is 200 or 203 or 204 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    /// <summary>Whether the request lets the cache answer or store at all (GET, no <c>no-store</c>).</summary>
    public static bool RequestAllowsCache(HttpHead request) =>
        request.First == "GET" && !request.HasToken("Cache-Control", "no-store");

    /// <summary>Whether the request insists on a check with the origin (<c>no-cache</c>, <c>max-age=0</c>, <c>Pragma: no-cache</c>).</summary>
    public static bool RequestWantsRevalidation(HttpHead request) =>
        request.HasToken("Cache-Control", "no-cache") || request.Directive("Cache-Control", "max-age") == "0"
        || (request["Cache-Control"] is null && request.HasToken("Pragma", "no-cache"));

    /// <summary>
    /// Why a response may not be stored by a shared cache, or null when it may: <c>no-store</c>, <c>private</c>,
    /// <c>Vary: *</c>, an authorised request, a status that is not cacheable without explicit freshness.
    /// </summary>
    public static string? WhyNotStorable(HttpHead request, int status, HttpHead response)
    {
        if (!RequestAllowsCache(request)) return request.First == "GET" ? "request says no-store" : $"{request.First} is never cached";
        if (response.HasToken("Cache-Control", "no-store")) return "no-store";
        if (response.HasToken("Cache-Control", "private")) return "private";
        if (response.HasToken("Vary", "*")) return "Vary: *"; // varies on things no request field says: never the same variant
        if (request["Authorization"] is not null && !response.HasToken("Cache-Control", "public") && response.Directive("Cache-Control", "s-maxage") is null)
            return "authorised request";
        if (status == 206) return "partial content";
        if (status == 304) return "a 304 answers one client's own conditional request, it is no object";
        if (!IsHeuristicallyCacheable(status) && !HasExplicitFreshness(response)) return $"status {status}";
        return null;
    }

    /// <summary>
    /// Whether the client already holds the cached object (RFC 9110 §13.1): its <c>If-None-Match</c> names the cached
    /// ETag (weak comparison, or <c>*</c>), or, without If-None-Match, its <c>If-Modified-Since</c> is no earlier than the
    /// cached Last-Modified. Then the cache answers <c>304 Not Modified</c> without a body instead of the object.
    /// </summary>
    public static bool ClientHasCurrentCopy(HttpHead request, CachedResponse cached)
    {
        if (request.First is not ("GET" or "HEAD") || cached.Status != 200) return false;
        if (request["If-None-Match"] is { } noneMatch)
        {
            if (cached.ETag is not { } etag) return noneMatch.Trim() == "*";
            foreach (var tag in noneMatch.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (tag == "*" || OpaqueTag(tag) == OpaqueTag(etag)) return true;
            return false;
        }
        return Date(request["If-Modified-Since"]) is { } since && Date(cached.LastModified) is { } lastModified && lastModified <= since;
    }

    /// <summary>An entity tag without its weakness mark: <c>W/"x"</c> and <c>"x"</c> match weakly (RFC 9110 §8.8.3.2).</summary>
    private static string OpaqueTag(string tag)
    {
        tag = tag.Trim();
        return tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
    }

    public static bool HasExplicitFreshness(HttpHead response) =>
        response.Directive("Cache-Control", "s-maxage") is not null || response.Directive("Cache-Control", "max-age") is not null || response["Expires"] is not null;

    /// <summary>
    /// How long a response stays fresh (RFC 9111 §4.2.1): <c>s-maxage</c>, else <c>max-age</c>, else
    /// <c>Expires − Date</c>, else 10 % of the time since <c>Last-Modified</c> (at most a day), else zero.
    /// <c>no-cache</c> makes it zero: stored, but checked with the origin every time.
    /// </summary>
    public static TimeSpan FreshnessLifetime(HttpHead response)
    {
        if (response.HasToken("Cache-Control", "no-cache")) return TimeSpan.Zero;
        if (Seconds(response.Directive("Cache-Control", "s-maxage")) is { } shared) return shared;
        if (Seconds(response.Directive("Cache-Control", "max-age")) is { } maxAge) return maxAge;
        var date = Date(response["Date"]);
        var expiresText = response["Expires"];
        if (expiresText is not null)
        {
            // An Expires that does not parse ("0", "-1") means already expired.
            var expires = Date(expiresText);
            if (expires is null || date is null) return TimeSpan.Zero;
            var lifetime = expires.Value - date.Value;
            return lifetime > TimeSpan.Zero ? lifetime : TimeSpan.Zero;
        }
        if (Date(response["Last-Modified"]) is { } lastModified && IsHeuristicallyCacheable(int.TryParse(response.Second, out var s) ? s : 0))
        {
            var since = (date ?? DateTimeOffset.UtcNow) - lastModified;
            if (since <= TimeSpan.Zero) return TimeSpan.Zero;
            var heuristic = since / 10;
            return heuristic < MaxHeuristicLifetime ? heuristic : MaxHeuristicLifetime;
        }
        return TimeSpan.Zero;
    }

    /// <summary>
    /// The response's age when it arrived (RFC 9111 §4.2.3): the larger of the age its Date shows and the origin's
    /// Age plus the time the request took.
    /// </summary>
    public static TimeSpan InitialAge(HttpHead response, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var apparent = Date(response["Date"]) is { } date && responseTime > date ? responseTime - date : TimeSpan.Zero;
        var ageValue = Seconds(response["Age"]) ?? TimeSpan.Zero;
        var corrected = ageValue + (responseTime - requestTime);
        return apparent > corrected ? apparent : corrected;
    }

    private static TimeSpan? Seconds(string? value) =>
        value is not null && long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(Math.Min(seconds, int.MaxValue))
            : null;

    /// <summary>An HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime forms), or null.</summary>
    public static DateTimeOffset? Date(string? value)
    {
        if (value is null) return null;
        string[] formats = ["r", "dddd, dd-MMM-yy HH:mm:ss 'GMT'", "ddd MMM d HH:mm:ss yyyy", "ddd MMM  d HH:mm:ss yyyy"];
        return DateTimeOffset.TryParseExact(value.Trim(), formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date) ? date : null;
    }

    /// <summary>An HTTP date as sent (IMF-fixdate).</summary>
    public static string Format(DateTimeOffset date) => date.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);
}

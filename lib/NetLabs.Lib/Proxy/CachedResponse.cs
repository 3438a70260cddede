using System.Globalization;
using System.Text;

namespace NetLabs.Proxy;

/// <summary>
/// One object in the cache: the origin's status, its end-to-end header fields and the whole body, with what the
/// freshness rules need (RFC 9111 §4.2): when it was received, its age then, and how long it stays fresh.
/// Immutable: revalidation makes a new one.
/// </summary>
public sealed class CachedResponse
{
    private static readonly string[] NotModifiedFields = ["Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Last-Modified", "Vary"];
    private byte[]? _fieldBytes, _notModifiedFieldBytes;

    public CachedResponse(string url, int status, string reason, IReadOnlyList<KeyValuePair<string, string>> fields, byte[] body,
        DateTimeOffset responseTime, TimeSpan initialAge, TimeSpan freshnessLifetime, IReadOnlyList<KeyValuePair<string, string>> vary)
    {
        Url = url;
        Status = status;
        Reason = reason;
        Fields = fields;
        Body = body;
        ResponseTime = responseTime;
        InitialAge = initialAge;
        FreshnessLifetime = freshnessLifetime;
        Vary = vary;
    }

    /// <summary>The key: the absolute URL as the proxy normalised it.</summary>
    public string Url { get; }
    public int Status { get; }
    public string Reason { get; }
    /// <summary>End-to-end fields of the origin's answer (no hop-by-hop ones, no Content-Length, no Age).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }
    public byte[] Body { get; }
    /// <summary>When the proxy received it (or last revalidated it).</summary>
    public DateTimeOffset ResponseTime { get; }
    /// <summary>Its age when received: the origin's Age plus the time on the way (corrected initial age).</summary>
    public TimeSpan InitialAge { get; }
    /// <summary>How long after its creation it stays fresh (max-age, Expires, or the 10 % heuristic).</summary>
    public TimeSpan FreshnessLifetime { get; }
    /// <summary>The request fields the origin said the answer varies on, with the values they had.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Vary { get; }

    public string? ETag => Field("ETag");
    public string? LastModified => Field("Last-Modified");
    public bool HasValidator => ETag is not null || LastModified is not null;

    /// <summary>Bytes it takes in the cache's budget: body, fields and a fixed overhead.</summary>
    public long Size => Body.Length + FieldBytes.Length + Url.Length * 2 + 256;

    public TimeSpan Age(DateTimeOffset now)
    {
        var age = InitialAge + (now - ResponseTime);
        return age < TimeSpan.Zero ? TimeSpan.Zero : age;
    }

    public bool IsFresh(DateTimeOffset now) => Age(now) < FreshnessLifetime;

    public string? Field(string name) => HttpHead.Find(Fields, name);

    /// <summary>Whether a request asks for the same variant (same values of the fields named by Vary).</summary>
    public bool MatchesVariant(HttpHead request)
    {
        foreach (var (name, value) in Vary)
            if ((request[name] ?? "") != value) return false;
        return true;
    }

    /// <summary>The fields as sent to a client, CRLF after each: prepared once, reused by every hit.</summary>
    internal byte[] FieldBytes => _fieldBytes ??= BuildFieldBytes(Fields);

    /// <summary>
    /// The fields a <c>304 Not Modified</c> carries (RFC 9110 §15.4.5): the validators and what updates the client's
    /// cached copy, not the representation's own (Content-Type, Content-Encoding…), which the client already has.
    /// </summary>
    internal byte[] NotModifiedFieldBytes => _notModifiedFieldBytes ??=
        BuildFieldBytes(Fields.Where(f => Array.Exists(NotModifiedFields, n => n.Equals(f.Key, StringComparison.OrdinalIgnoreCase))).ToList());

    private static byte[] BuildFieldBytes(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in fields) text.Append(key).Append(": ").Append(value).Append("\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>
    /// The same object after a <c>304 Not Modified</c>: the 304's fields replace the stored ones of the same name
    /// (RFC 9111 §4.3.4), and its freshness starts again.
    /// </summary>
    public CachedResponse Revalidated(HttpHead notModified, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var fields = Fields.ToList();
        foreach (var (key, value) in notModified.Fields)
        {
            if (key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            fields.RemoveAll(f => f.Key.Equals(key, StringComparison.OrdinalIgnoreCase));
        }
        foreach (var field in notModified.Fields)
            if (!field.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !field.Key.Equals("Age", StringComparison.OrdinalIgnoreCase))
                fields.Add(field);
        var merged = HttpHead.Create("HTTP/1.1", Status.ToString(CultureInfo.InvariantCulture), Reason, fields);
        return new CachedResponse(Url, Status, Reason, fields, Body, responseTime,
            CachePolicy.InitialAge(notModified, requestTime, responseTime), CachePolicy.FreshnessLifetime(merged), Vary);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Status} {Url} ({Body.Length} bytes, fresh for {FreshnessLifetime.TotalSeconds:0} s)");
}

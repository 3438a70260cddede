using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Web;

/// <summary>
/// One answered (or abandoned) request: what the access log of a web server records.
/// <see cref="Bytes"/> counts everything sent for it, head and body; <see cref="Duration"/> runs from the
/// request's first byte to its last byte sent.
/// </summary>
public sealed record AccessLogEntry(
    long ConnectionId,
    DateTimeOffset Time,
    string Client,
    string Method,
    string Target,
    int Status,
    long Bytes,
    TimeSpan Duration,
    string? Note = null)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Time:HH:mm:ss.fff} #{ConnectionId} {Client} \"{Method} {Target}\" {Status} {Bytes} {Duration.TotalMilliseconds:0.###} ms{(Note is null ? "" : " (" + Note + ")")}");

    /// <summary>A table of log entries for a notebook.</summary>
    public static HtmlTable Table(IEnumerable<AccessLogEntry> entries, string caption = "Access log") =>
        new(caption, ["time", "conn", "client", "method", "target", "status", "bytes", "ms", "note"],
            entries.Select(e => (IReadOnlyList<string>)
            [
                e.Time.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
                "#" + e.ConnectionId.ToString(CultureInfo.InvariantCulture),
                e.Client, e.Method, e.Target,
                e.Status.ToString(CultureInfo.InvariantCulture),
                e.Bytes.ToString(CultureInfo.InvariantCulture),
                e.Duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
                e.Note ?? "",
            ]));
}

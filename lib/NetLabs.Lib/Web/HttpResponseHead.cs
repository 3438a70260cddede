using System.Globalization;
using System.Net;
using System.Text;

namespace NetLabs.Web;

/// <summary>Status lines, dates and error pages: the small pieces every response is made of.</summary>
public static class HttpResponseHead
{
    /// <summary>The reason phrase of a status code ("Not Found").</summary>
    public static string Reason(int status) => status switch
    {
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Status " + status.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A date as HTTP writes it (IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".</summary>
    public static string FormatDate(DateTimeOffset time) => time.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    /// <summary>Parses an HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime forms), or null.</summary>
    public static DateTimeOffset? ParseDate(string? text)
    {
        if (text is null) return null;
        string[] formats = ["r", "dddd, dd-MMM-yy HH:mm:ss 'GMT'", "ddd MMM d HH:mm:ss yyyy", "ddd MMM dd HH:mm:ss yyyy"];
        return DateTimeOffset.TryParseExact(text.Trim(), formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowInnerWhite | DateTimeStyles.AssumeUniversal, out var date)
            ? date
            : null;
    }

    /// <summary>The small HTML page sent with an error status (404 and friends).</summary>
    public static byte[] ErrorPage(int status, string? detail = null)
    {
        var title = $"{status} {Reason(status)}";
        var text = detail is null ? "" : $"<p>{WebUtility.HtmlEncode(detail)}</p>\n";
        return Encoding.UTF8.GetBytes(
            $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n" +
            $"<body><h1>{title}</h1>\n{text}<hr><p>NetLabs web server</p></body></html>\n");
    }

    /// <summary>
    /// The "Date: …\r\n" header line for now, in ASCII bytes. HTTP dates have one-second resolution, so the bytes
    /// are made once a second and shared by every response in that second.
    /// </summary>
    internal static ReadOnlySpan<byte> DateLine
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            var cached = _dateLine;
            if (cached.Second != now.ToUnixTimeSeconds())
            {
                cached = new DateLineCache(now.ToUnixTimeSeconds(), Encoding.ASCII.GetBytes("Date: " + FormatDate(now) + "\r\n"));
                _dateLine = cached;
            }
            return cached.Bytes;
        }
    }

    private sealed record DateLineCache(long Second, byte[] Bytes);

    private static DateLineCache _dateLine = new(0, []);
}

/// <summary>Appends an HTTP response head to a byte buffer, ASCII, no intermediate strings.</summary>
internal ref struct HeadWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    public int Length { get; private set; }

    public void StatusLine(int status)
    {
        Append("HTTP/1.1 "u8);
        Number(status);
        Append(" "u8);
        Ascii(HttpResponseHead.Reason(status));
        Append("\r\n"u8);
        Append("Server: NetLabs\r\n"u8);
        Append(HttpResponseHead.DateLine);
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[Length..]);
        Length += bytes.Length;
    }

    private void Ascii(string text)
    {
        Length += Encoding.ASCII.GetBytes(text, _buffer[Length..]);
    }

    private void Number(long value)
    {
        value.TryFormat(_buffer[Length..], out var written, default, CultureInfo.InvariantCulture);
        Length += written;
    }
}

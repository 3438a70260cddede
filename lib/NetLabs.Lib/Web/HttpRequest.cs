using System.Text;

namespace NetLabs.Web;

/// <summary>Why a request was refused: the status to answer and a short reason for the access log.</summary>
public readonly record struct HttpError(int Status, string Reason)
{
    public override string ToString() => $"{Status} {Reason}";
}

/// <summary>The size limits of a request head; exceeding one is answered with 414 or 431.</summary>
public sealed record HttpLimits
{
    /// <summary>Longest request line ("GET /path HTTP/1.1"), in bytes: beyond it, 414 URI Too Long.</summary>
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;
    /// <summary>Longest whole head (request line and headers), in bytes: beyond it, 431.</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;
    /// <summary>Most header lines: beyond it, 431 Request Header Fields Too Large.</summary>
    public int MaxHeaderCount { get; init; } = 100;
    /// <summary>Largest request body (read and thrown away: GET and HEAD need none): beyond it, 413.</summary>
    public long MaxBodyBytes { get; init; } = 64 * 1024;

    public static HttpLimits Default { get; } = new();
}

/// <summary>
/// A parsed HTTP/1.x request head: request line and header fields, exactly as the client sent them.
/// <see cref="Parse"/> checks the syntax (RFC 9112) and the framing headers; what the target means is
/// <see cref="RequestPath"/>'s business.
/// </summary>
public sealed class HttpRequest
{
    private HttpRequest(string method, string target, int minorVersion, List<KeyValuePair<string, string>> headers)
    {
        Method = method;
        Target = target;
        MinorVersion = minorVersion;
        Headers = headers;
    }

    /// <summary>"GET", "HEAD", … (case-sensitive, as HTTP says).</summary>
    public string Method { get; }
    /// <summary>The request target as sent: "/images/logo.png?x=1", still percent-encoded.</summary>
    public string Target { get; }
    /// <summary>0 for HTTP/1.0, 1 (or more) for HTTP/1.1.</summary>
    public int MinorVersion { get; }
    public string Version => MinorVersion == 0 ? "HTTP/1.0" : "HTTP/1.1";
    /// <summary>Header fields in the order sent; values trimmed, bytes taken as Latin-1.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    /// <summary>Length of the body that follows the head (0 when there is none).</summary>
    public long ContentLength { get; private set; }

    /// <summary>The first value of a header field (names are case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value;
        return null;
    }

    /// <summary>
    /// Whether the client wants the connection kept open: HTTP/1.1 unless it says "Connection: close",
    /// HTTP/1.0 only when it says "Connection: keep-alive".
    /// </summary>
    public bool WantsKeepAlive
    {
        get
        {
            var keepAlive = MinorVersion >= 1;
            foreach (var (key, value) in Headers)
            {
                if (!string.Equals(key, "Connection", StringComparison.OrdinalIgnoreCase)) continue;
                var tokens = value.AsSpan();
                foreach (var range in tokens.Split(','))
                {
                    var token = tokens[range].Trim();
                    if (token.Equals("close", StringComparison.OrdinalIgnoreCase)) return false;
                    if (token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)) keepAlive = true;
                }
            }
            return keepAlive;
        }
    }

    /// <summary>The client waits for "100 Continue" before it sends its body ("Expect: 100-continue", HTTP/1.1).</summary>
    public bool ExpectsContinue =>
        MinorVersion >= 1 && Header("Expect") is { } expect && expect.Trim().Equals("100-continue", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Method} {Target} {Version}";

    /// <summary>
    /// Where the head in <paramref name="buffer"/> ends: the index just past its empty line ("\r\n\r\n"; a bare
    /// "\n" is accepted as a line end too), or -1 when the empty line has not arrived yet.
    /// </summary>
    public static int FindHeadEnd(ReadOnlySpan<byte> buffer)
    {
        var from = 0;
        while (true)
        {
            var lf = buffer[from..].IndexOf((byte)'\n');
            if (lf < 0) return -1;
            var i = from + lf;
            if (i + 1 < buffer.Length && buffer[i + 1] == '\n') return i + 2;
            if (i + 2 < buffer.Length && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
            if (i + 2 >= buffer.Length) return -1;
            from = i + 1;
        }
    }

    /// <summary>
    /// Parses a complete head (request line, header lines, empty line). Returns null and sets
    /// <paramref name="error"/> when the head is not acceptable: 400 bad syntax, 414 request line too long,
    /// 431 too many headers, 505 an HTTP version other than 1.x, 501 a transfer coding on the request.
    /// </summary>
    public static HttpRequest? Parse(ReadOnlySpan<byte> head, HttpLimits limits, out HttpError error)
    {
        error = default;
        if (head.Length > limits.MaxHeaderBytes) return Fail(out error, 431, "request head too large");

        var lineEnd = head.IndexOf((byte)'\n');
        if (lineEnd < 0) return Fail(out error, 400, "no line end");
        var requestLine = HttpFields.TrimCr(head[..lineEnd]);
        if (requestLine.Length > limits.MaxRequestLineBytes) return Fail(out error, 414, "request line too long");
        if (!ParseRequestLine(requestLine, out var method, out var target, out var minor, out error)) return null;

        var headers = new List<KeyValuePair<string, string>>(8);
        if (!HttpFields.TryParse(head[(lineEnd + 1)..], limits.MaxHeaderCount, headers, out error)) return null;

        var request = new HttpRequest(method, target, minor, headers);
        return request.CheckFraming(limits, out error) ? request : null;
    }

    private bool CheckFraming(HttpLimits limits, out HttpError error)
    {
        error = default;
        string? host = null, contentLength = null;
        var hosts = 0;
        var transferEncoding = false;
        foreach (var (key, value) in Headers)
        {
            if (key.Equals("Host", StringComparison.OrdinalIgnoreCase)) { hosts++; host = value; }
            else if (key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)) transferEncoding = true;
            else if (key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                // Several Content-Length fields (or a list) are only acceptable when they all agree.
                foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (part.Length == 0 || part.Length > 18 || !part.All(char.IsAsciiDigit))
                        return Invalid(out error, 400, "invalid Content-Length");
                    if (contentLength is not null && contentLength != part)
                        return Invalid(out error, 400, "conflicting Content-Length");
                    contentLength = part;
                }
            }
        }
        if (MinorVersion >= 1 && hosts != 1) return Invalid(out error, 400, hosts == 0 ? "HTTP/1.1 request without Host" : "several Host fields");
        if (hosts > 1) return Invalid(out error, 400, "several Host fields");
        if (host is not null && host.AsSpan().IndexOfAny(" /\\@") >= 0) return Invalid(out error, 400, "invalid Host");
        if (transferEncoding)
            return contentLength is not null || MinorVersion == 0
                ? Invalid(out error, 400, "Transfer-Encoding with Content-Length or in HTTP/1.0")
                : Invalid(out error, 501, "request body with a transfer coding");
        ContentLength = contentLength is null ? 0 : long.Parse(contentLength);
        if (ContentLength > limits.MaxBodyBytes) return Invalid(out error, 413, "request body too large");
        return true;
    }

    private static bool ParseRequestLine(ReadOnlySpan<byte> line, out string method, out string target, out int minor, out HttpError error)
    {
        method = target = "";
        minor = 0;
        error = default;
        var firstSpace = line.IndexOf((byte)' ');
        var lastSpace = line.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace == firstSpace) { Fail(out error, 400, "malformed request line"); return false; }
        var methodBytes = line[..firstSpace];
        var targetBytes = line[(firstSpace + 1)..lastSpace];
        var versionBytes = line[(lastSpace + 1)..];

        foreach (var b in methodBytes)
            if (!HttpFields.IsTokenChar(b)) { Fail(out error, 400, "invalid method"); return false; }
        if (targetBytes.IsEmpty) { Fail(out error, 400, "empty request target"); return false; }
        foreach (var b in targetBytes)
            if (b is <= 0x20 or >= 0x7F) { Fail(out error, 400, "invalid byte in request target"); return false; }

        if (versionBytes.Length != 8 || !versionBytes.StartsWith("HTTP/"u8) || versionBytes[6] != '.'
            || !char.IsAsciiDigit((char)versionBytes[5]) || !char.IsAsciiDigit((char)versionBytes[7]))
        { Fail(out error, 400, "malformed HTTP version"); return false; }
        if (versionBytes[5] != '1') { Fail(out error, 505, "HTTP version not supported"); return false; }
        minor = versionBytes[7] - '0';

        method = methodBytes.SequenceEqual("GET"u8) ? "GET" : methodBytes.SequenceEqual("HEAD"u8) ? "HEAD" : Encoding.ASCII.GetString(methodBytes);
        target = Encoding.ASCII.GetString(targetBytes);
        return true;
    }

    private static bool Invalid(out HttpError error, int status, string reason)
    {
        error = new HttpError(status, reason);
        return false;
    }

    private static HttpRequest? Fail(out HttpError error, int status, string reason)
    {
        error = new HttpError(status, reason);
        return null;
    }
}

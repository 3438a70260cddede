using System.Globalization;
using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Web;

/// <summary>
/// One request and its response, as <see cref="HttpRawClient"/> saw them: the parsed status, headers and
/// body, and the exact bytes in both directions. In a notebook it shows as a wire transcript with every
/// CR and LF visible; an image body is shown as the image.
/// </summary>
public sealed class HttpExchange : IHtmlDisplay
{
    private const int TranscriptBodyBytes = 4000;

    internal HttpExchange(string host, int port, byte[] request, ParsedResponse response, TimeSpan connected, TimeSpan elapsed, TcpConversation tcp)
    {
        Tcp = tcp;
        Host = host;
        Port = port;
        RequestBytes = request;
        ResponseBytes = response.Raw;
        ResponseHeadLength = response.HeadLength;
        Version = response.Version;
        StatusCode = response.Status;
        ReasonPhrase = response.Reason;
        Headers = response.Headers;
        Body = response.Body;
        BodyLength = response.BodyLength;
        Framing = response.Framing;
        ServerClosed = response.ServerClosed;
        ConnectTime = connected;
        Elapsed = elapsed;
    }

    public string Host { get; }
    /// <summary>
    /// The TCP connection the exchange travelled on, as the client's socket calls reported it (handshake, sends, recvs,
    /// FINs); on a kept-alive connection it also holds the other exchanges.
    /// </summary>
    public TcpConversation Tcp { get; }
    public int Port { get; }
    /// <summary>Exactly the bytes sent.</summary>
    public byte[] RequestBytes { get; }
    /// <summary>Exactly the bytes received: head, then the body as framed on the wire (chunk sizes included).</summary>
    public byte[] ResponseBytes { get; }
    /// <summary>Where the (final) response head ends in <see cref="ResponseBytes"/>.</summary>
    public int ResponseHeadLength { get; }
    public string Version { get; }
    public int StatusCode { get; }
    public string ReasonPhrase { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    /// <summary>The body's bytes (chunked framing removed); empty when it went to <see cref="HttpRawRequestOptions.BodyDestination"/>.</summary>
    public byte[] Body { get; }
    /// <summary>How many body bytes arrived (also when they went to <see cref="HttpRawRequestOptions.BodyDestination"/>).</summary>
    public long BodyLength { get; }
    /// <summary>How the body's end was found: "Content-Length", "chunked", "until close" or "no body (…)".</summary>
    public string Framing { get; }
    /// <summary>Whether the server had closed the connection when reading stopped.</summary>
    public bool ServerClosed { get; }
    public TimeSpan ConnectTime { get; }
    /// <summary>From connecting to the response's last byte.</summary>
    public TimeSpan Elapsed { get; }

    public string? ContentType => Header("Content-Type");

    /// <summary>The first value of a response header (case-insensitive name), or null.</summary>
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The request line ("GET /HelloWorld.html HTTP/1.1").</summary>
    public string RequestLine
    {
        get
        {
            var end = Array.IndexOf(RequestBytes, (byte)'\n');
            return Encoding.Latin1.GetString(RequestBytes, 0, end < 0 ? RequestBytes.Length : end).TrimEnd('\r');
        }
    }

    /// <summary>
    /// Both directions as text, with "\r" and "\n" written out before each line break; a body that is not
    /// text is summarised.
    /// </summary>
    public string WireTranscript()
    {
        var text = new StringBuilder();
        text.Append(">>> sent to ").Append(Host).Append(':').Append(Port).Append(" (").Append(RequestBytes.Length).AppendLine(" bytes)");
        text.Append(Visible(RequestBytes));
        text.Append("<<< received (").Append(ResponseBytes.Length).AppendLine(" bytes)");
        text.Append(Visible(ResponseBytes.AsSpan(0, ResponseHeadLength)));
        text.Append(BodySummary(plain: true));
        return text.ToString();
    }

    public override string ToString() =>
        $"{RequestLine} → {StatusCode} {ReasonPhrase}, {BodyLength} body bytes ({Framing}), {Elapsed.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)} ms";

    public string ToHtml()
    {
        var html = new StringBuilder();
        var color = StatusCode < 300 ? "#2e7d32" : StatusCode < 400 ? "#1565c0" : "#c62828";
        html.Append("<div class=\"netlabs-exchange\" style=\"font-family:monospace;font-size:90%\">")
            .Append("<div style=\"margin:4px 0\"><b>").Append(WebUtility.HtmlEncode(RequestLine)).Append("</b> → <b style=\"color:").Append(color).Append("\">")
            .Append(StatusCode).Append(' ').Append(WebUtility.HtmlEncode(ReasonPhrase)).Append("</b>, ")
            .Append(BodyLength).Append(" body bytes (").Append(WebUtility.HtmlEncode(Framing)).Append("), ")
            .Append(Elapsed.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)).Append(" ms</div>");
        html.Append("<div style=\"color:#555\">sent to ").Append(WebUtility.HtmlEncode(Host)).Append(':').Append(Port).Append(", ")
            .Append(RequestBytes.Length).Append(" bytes:</div>");
        html.Append(Pre("#e8f0fe", VisibleHtml(RequestBytes)));
        html.Append("<div style=\"color:#555\">received, ").Append(ResponseBytes.Length).Append(" bytes (head ").Append(ResponseHeadLength).Append("):</div>");
        html.Append(Pre("#e9f5e9", VisibleHtml(ResponseBytes.AsSpan(0, ResponseHeadLength)) + BodySummary(plain: false)));
        if (IsImage && Body.Length > 0)
            html.Append("<div><img alt=\"response body\" style=\"max-width:400px;border:1px solid #ccc\" src=\"data:")
                .Append(WebUtility.HtmlEncode(MediaType)).Append(";base64,").Append(Convert.ToBase64String(Body)).Append("\"></div>");
        return html.Append("</div>").ToString();
    }

    private string MediaType => (ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
    private bool IsImage => MediaType.StartsWith("image/", StringComparison.Ordinal);
    private bool IsText => MediaType.StartsWith("text/", StringComparison.Ordinal) || MediaType is "application/json" or "application/xml" or "image/svg+xml";

    /// <summary>
    /// The body as it was on the wire (chunk sizes included), with CR and LF visible, when it is text; a one-line
    /// summary when it is not. Long bodies are cut.
    /// </summary>
    private string BodySummary(bool plain)
    {
        var wire = ResponseBytes.AsSpan(ResponseHeadLength);
        if (wire.IsEmpty) return "";
        if (!IsText)
        {
            var summary = $"[body: {Body.Length} bytes of {(MediaType.Length == 0 ? "unknown type" : MediaType)}, starting {Convert.ToHexString(Body, 0, Math.Min(8, Body.Length))}]";
            return plain ? summary + Environment.NewLine : $"<span style=\"color:#777\">{WebUtility.HtmlEncode(summary)}</span>";
        }
        var cut = wire.Length > TranscriptBodyBytes;
        if (cut) wire = wire[..TranscriptBodyBytes];
        var more = cut ? $"[… {ResponseBytes.Length - ResponseHeadLength} bytes in all]" : "";
        // Body text is UTF-8: show it as such, with line ends and controls made visible.
        var text = Encoding.UTF8.GetString(wire);
        return plain ? VisibleText(text, false) + more + Environment.NewLine : VisibleText(text, true) + WebUtility.HtmlEncode(more);
    }

    private static string Pre(string background, string content) =>
        $"<pre style=\"background:{background};padding:6px;margin:2px 0 8px 0;white-space:pre-wrap;word-break:break-all\">{content}</pre>";

    /// <summary>Bytes as text with CR and LF spelled out, other controls and non-ASCII as \xNN.</summary>
    private static string Visible(ReadOnlySpan<byte> bytes) => VisibleText(Encoding.Latin1.GetString(bytes), html: false, escapeNonAscii: true);

    private static string VisibleHtml(ReadOnlySpan<byte> bytes) => VisibleText(Encoding.Latin1.GetString(bytes), html: true, escapeNonAscii: true);

    /// <summary>"\r" and "\n" written out (a real line break follows each "\n"), other controls as \xNN; in HTML, greyed.</summary>
    private static string VisibleText(string text, bool html, bool escapeNonAscii = false)
    {
        var result = new StringBuilder();
        foreach (var c in text)
        {
            var mark = c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                < ' ' or '\x7F' => $"\\x{(int)c:X2}",
                > '\x7F' when escapeNonAscii => $"\\x{(int)c:X2}",
                _ => null,
            };
            if (mark is null) result.Append(html ? WebUtility.HtmlEncode(c.ToString()) : c);
            else if (html) result.Append("<span style=\"color:#b0b0b0\">").Append(mark).Append("</span>");
            else result.Append(mark);
            if (c == '\n') result.Append('\n');
        }
        return result.ToString();
    }
}

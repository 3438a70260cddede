using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Proxy;

/// <summary>One request and its answer as they crossed the socket, with the time it took.</summary>
public sealed record ProxyExchange(string Request, string ResponseHead, int Status, byte[] Body, TimeSpan Elapsed) : IHtmlDisplay
{
    /// <summary>The proxy's X-Cache field (HIT, MISS, REVALIDATED), or "-" when there is none (a direct request).</summary>
    public string Cache => ResponseHead.Split("\r\n").FirstOrDefault(l => l.StartsWith("X-Cache:", StringComparison.OrdinalIgnoreCase))?[8..].Trim() ?? "-";

    public string ToHtml()
    {
        static string Wire(string text) => WebUtility.HtmlEncode(text.Replace("\r\n", "\\r\\n\n"));
        return $"""
            <div style="font-family:monospace">
            <b>{Status} · {Cache} · {Body.Length:N0} body bytes · {Elapsed.TotalMilliseconds:0.0} ms</b>
            <div style="display:flex;gap:12px">
            <pre style="background:#eef5ff;padding:6px;margin:4px 0;flex:1">{Wire(Request)}</pre>
            <pre style="background:#f3f3f3;padding:6px;margin:4px 0;flex:1">{Wire(ResponseHead)}</pre>
            </div></div>
            """;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Request.Split("\r\n")[0]} → {Status} {Cache}, {Body.Length} bytes in {Elapsed.TotalMilliseconds:0.0} ms");
}

/// <summary>The client could not complete an exchange; <see cref="Sent"/> is what it had sent.</summary>
public sealed class ProxyClientException(string message, string sent, Exception? inner = null) : NetLabsException(message, inner)
{
    public string Sent { get; } = sent;
}

/// <summary>
/// A client on a plain socket that shows the difference a proxy makes: to a proxy it sends the whole URL in the request
/// line (absolute form, <c>GET http://host:port/path HTTP/1.1</c>); to the server itself only the path
/// (<c>GET /path HTTP/1.1</c>). One request per connection, every wait bounded.
/// </summary>
public static class ProxyRawClient
{
    /// <summary>
    /// GETs <paramref name="url"/> through the proxy at <paramref name="proxy"/>, or straight from its server when
    /// <paramref name="proxy"/> is null. <paramref name="extraFields"/> are added as sent ("Cache-Control: no-cache").
    /// </summary>
    public static async Task<ProxyExchange> GetAsync(IPEndPoint? proxy, Uri url, IEnumerable<string>? extraFields = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var target = proxy is null ? url.PathAndQuery : url.GetLeftPart(UriPartial.Query);
        var request = new StringBuilder($"GET {target} HTTP/1.1\r\nHost: {url.Authority}\r\nUser-Agent: NetLabs-ProxyRawClient\r\n");
        foreach (var field in extraFields ?? []) request.Append(field).Append("\r\n");
        request.Append("Connection: close\r\n\r\n");
        var sent = request.ToString();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (proxy is not null) await socket.ConnectAsync(proxy, deadline.Token).ConfigureAwait(false);
            else await socket.ConnectAsync(url.Host, url.Port, deadline.Token).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync(Encoding.Latin1.GetBytes(sent), deadline.Token).ConfigureAwait(false);
            var reader = new HttpMessageReader(stream, 64 * 1024);
            var headBytes = await reader.ReadHeadAsync(deadline.Token).ConfigureAwait(false)
                            ?? throw new EndOfStreamException("The other side closed without an answer.");
            var headText = Encoding.Latin1.GetString(headBytes.Span) + "\r\n\r\n"; // now: the reader's buffer is reused for the body
            var head = HttpHead.Parse(headBytes.Span, 1000);
            var status = int.Parse(head.Second, CultureInfo.InvariantCulture);
            var body = MessageBody.ForResponse(reader, head, "GET", status);
            var bytes = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, deadline.Token).ConfigureAwait(false)) > 0) bytes.Write(buffer, 0, read);
            return new ProxyExchange(sent, headText, status, bytes.ToArray(), clock.Elapsed);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProxyClientException($"No complete answer from {(object?)proxy ?? url.Authority} within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s.", sent, e);
        }
        catch (Exception e) when (e is SocketException or IOException or FormatException)
        {
            throw new ProxyClientException($"The exchange with {(object?)proxy ?? url.Authority} failed: {e.Message}", sent, e);
        }
    }
}

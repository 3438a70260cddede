using System.Globalization;
using System.Text;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>An RTSP message that breaks the protocol (no CSeq, a line too long, a header without a colon, …).</summary>
public sealed class RtspProtocolException(string message) : NetLabsException(message);

/// <summary>
/// One RTSP message (RFC 2326 §4–7), a request or a response: a start line, headers and an optional body. RTSP looks
/// like HTTP/1.1 but every message carries a <c>CSeq</c> that the reply repeats, and a <c>Session</c> once set up.
/// </summary>
public sealed class RtspMessage
{
    public RtspMessage(string startLine, IEnumerable<KeyValuePair<string, string>>? headers = null, string body = "")
    {
        StartLine = startLine;
        Headers = (headers ?? []).ToList();
        Body = body;
    }

    public string StartLine { get; }
    public List<KeyValuePair<string, string>> Headers { get; }
    public string Body { get; }

    /// <summary>The first header of that name (case-insensitive), or null.</summary>
    public string? this[string name] => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool IsResponse => StartLine.StartsWith("RTSP/", StringComparison.Ordinal);

    /// <summary>For a request: the method (OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, …).</summary>
    public string Method => StartLine.Split(' ')[0];
    /// <summary>For a request: the URL (or, from the textbook client, a bare file name).</summary>
    public string Uri => StartLine.Split(' ', 3) is { Length: >= 2 } parts ? parts[1] : "";

    /// <summary>For a response: the status code (200, 454, …), or 0 when the status line is not one.</summary>
    public int StatusCode => IsResponse && StartLine.Split(' ', 3) is { Length: >= 2 } parts &&
        int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;

    public int? CSeq => int.TryParse(this["CSeq"]?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var cseq) ? cseq : null;

    /// <summary>The session id without its parameters (<c>Session: 1A2B;timeout=60</c> → <c>1A2B</c>).</summary>
    public string? Session => this["Session"]?.Split(';')[0].Trim();

    public static RtspMessage Request(string method, string uri, int cseq, string? session = null, params (string Name, string Value)[] headers)
    {
        var all = new List<KeyValuePair<string, string>> { new("CSeq", cseq.ToString(CultureInfo.InvariantCulture)) };
        if (session is not null) all.Add(new("Session", session));
        all.AddRange(headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value)));
        return new RtspMessage($"{method} {uri} RTSP/1.0", all);
    }

    public static RtspMessage Response(int status, int? cseq, IEnumerable<(string Name, string Value)>? headers = null, string body = "", string? contentType = null)
    {
        var all = new List<KeyValuePair<string, string>>();
        if (cseq is { } c) all.Add(new("CSeq", c.ToString(CultureInfo.InvariantCulture)));
        all.AddRange((headers ?? []).Select(h => new KeyValuePair<string, string>(h.Name, h.Value)));
        if (body.Length > 0)
        {
            all.Add(new("Content-Type", contentType ?? "text/plain"));
            all.Add(new("Content-Length", Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture)));
        }
        return new RtspMessage($"RTSP/1.0 {status} {ReasonPhrase(status)}", all, body);
    }

    public static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        453 => "Not Enough Bandwidth",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        459 => "Aggregate Operation Not Allowed",
        461 => "Unsupported Transport",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "RTSP Version Not Supported",
        _ => "Unknown",
    };

    /// <summary>The message as sent: CRLF line ends, an empty line, then the body.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(StartLine).Append("\r\n");
        foreach (var (name, value) in Headers) text.Append(name).Append(": ").Append(value).Append("\r\n");
        return text.Append("\r\n").Append(Body).ToString();
    }

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(ToString());
}

/// <summary>
/// Reads RTSP messages from a TCP stream with bounded memory: the start line and headers together at most
/// <c>maxHeaderBytes</c>, the body at most <c>maxBodyBytes</c>. Lines end in CRLF or a bare LF (the textbook's
/// Python server and client send bare LF).
/// </summary>
public sealed class RtspMessageReader(Stream stream, int maxHeaderBytes = 8192, int maxBodyBytes = 64 * 1024)
{
    private readonly byte[] _buffer = new byte[4096];
    private int _start, _end;

    /// <summary>The next message, or null when the peer closed the connection between messages.</summary>
    public async Task<RtspMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        var lines = new List<string>();
        var headerBytes = 0;
        while (true)
        {
            var line = await ReadLineAsync(maxHeaderBytes - headerBytes, cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                if (lines.Count == 0) return null;
                throw new RtspProtocolException("The connection closed in the middle of an RTSP message.");
            }
            headerBytes += line.Length + 2;
            if (line.Length == 0)
            {
                if (lines.Count == 0) continue; // blank lines between messages are tolerated
                break;
            }
            // Answer junk at once rather than wait for the end of headers that will never come.
            if (lines.Count == 0 && !line.Contains("RTSP/", StringComparison.Ordinal))
                throw new RtspProtocolException($"Not an RTSP message: \"{Shorten(line)}\" (a request line is METHOD URL RTSP/1.0).");
            lines.Add(line);
        }
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new RtspProtocolException($"RTSP header line without a name and colon: \"{Shorten(line)}\".");
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        var body = "";
        var lengthHeader = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        if (lengthHeader is not null)
        {
            if (!int.TryParse(lengthHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > maxBodyBytes)
                throw new RtspProtocolException($"Content-Length \"{Shorten(lengthHeader)}\" is not a length of at most {maxBodyBytes} bytes.");
            var bytes = new byte[length];
            for (var read = 0; read < length;)
            {
                if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
                    throw new RtspProtocolException("The connection closed in the middle of an RTSP message body.");
                var n = Math.Min(length - read, _end - _start);
                Array.Copy(_buffer, _start, bytes, read, n);
                _start += n;
                read += n;
            }
            body = Encoding.UTF8.GetString(bytes);
        }
        return new RtspMessage(lines[0], headers, body);
    }

    private async Task<string?> ReadLineAsync(int limit, CancellationToken cancellationToken)
    {
        var line = new MemoryStream();
        while (true)
        {
            if (_start == _end && !await FillAsync(cancellationToken).ConfigureAwait(false))
                return line.Length == 0 ? null : throw new RtspProtocolException("The connection closed in the middle of an RTSP line.");
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var take = (newline < 0 ? _end : newline) - _start;
            if (line.Length + take > limit)
                throw new RtspProtocolException("RTSP request headers too long: this server reads at most " + maxHeaderBytes + " bytes of them.");
            line.Write(_buffer, _start, take);
            _start += take;
            if (newline < 0) continue;
            _start++; // the LF
            var text = Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
            return text.EndsWith('\r') ? text[..^1] : text;
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        return _end > 0;
    }

    private static string Shorten(string text)
    {
        var printable = new string(text.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length <= 60 ? printable : printable + "…";
    }
}

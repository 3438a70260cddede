using System.Text;

namespace NetLabs.Web;

/// <summary>
/// The header fields of an HTTP/1.x head (RFC 9112 §5), as requests and responses share them: one parser, at the
/// strict level, for the server reading requests and for the client reading responses. A line is
/// <c>name ":" OWS value OWS</c>; the name is a token, the value has no control bytes but tab, obsolete line folding
/// is refused, a line ends with CRLF or a bare LF.
/// </summary>
internal static class HttpFields
{
    /// <summary>
    /// Parses the header lines in <paramref name="lines"/> (everything after the start line, up to and including the
    /// empty line) into <paramref name="fields"/>, in order. False with <paramref name="error"/> (400, or 431 beyond
    /// <paramref name="maxCount"/> fields) when a line is not a header field.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> lines, int maxCount, List<KeyValuePair<string, string>> fields, out HttpError error)
    {
        error = default;
        while (true)
        {
            var lf = lines.IndexOf((byte)'\n');
            if (lf < 0) return Fail(out error, 400, "header line without line end");
            var line = TrimCr(lines[..lf]);
            lines = lines[(lf + 1)..];
            if (line.IsEmpty) break;
            if (fields.Count == maxCount) return Fail(out error, 431, "too many header fields");
            if (!TryParseLine(line, out var field, out error)) return false;
            fields.Add(field);
        }
        return lines.IsEmpty || Fail(out error, 400, "bytes after the empty line");
    }

    private static bool TryParseLine(ReadOnlySpan<byte> line, out KeyValuePair<string, string> field, out HttpError error)
    {
        field = default;
        error = default;
        if (line[0] is (byte)' ' or (byte)'\t') return Fail(out error, 400, "folded header line");
        var colon = line.IndexOf((byte)':');
        if (colon <= 0) return Fail(out error, 400, "header line without name and colon");
        var name = line[..colon];
        foreach (var b in name)
            if (!IsTokenChar(b)) return Fail(out error, 400, "invalid header name");
        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (var b in value)
            if (b is < 0x20 and not (byte)'\t' or 0x7F) return Fail(out error, 400, "control byte in header value");
        field = new(Encoding.ASCII.GetString(name), Encoding.Latin1.GetString(value));
        return true;
    }

    /// <summary>A line without its trailing CR (a line end is CRLF, or a bare LF).</summary>
    public static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    /// <summary>tchar of RFC 9110: letters, digits and !#$%&amp;'*+-.^_`|~ (methods and field names are made of them).</summary>
    public static bool IsTokenChar(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
          or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
          or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    private static bool Fail(out HttpError error, int status, string reason)
    {
        error = new HttpError(status, reason);
        return false;
    }
}

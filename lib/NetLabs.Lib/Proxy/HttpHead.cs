using System.Text;

namespace NetLabs.Proxy;

/// <summary>
/// The head of an HTTP/1.x message: the start line split in its three parts, and the header fields in the order
/// sent (values trimmed, bytes taken as Latin-1). A request's parts are method, target, version; a response's are
/// version, status, reason. A proxy mostly passes heads on, so the fields stay a plain ordered list.
/// </summary>
public sealed class HttpHead
{
    private HttpHead(string first, string second, string third, List<KeyValuePair<string, string>> fields)
    {
        First = first;
        Second = second;
        Third = third;
        Fields = fields;
    }

    public string First { get; }
    public string Second { get; }
    public string Third { get; }
    public List<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The first value of a field (names are case-insensitive), or null.</summary>
    public string? this[string name] => Find(Fields, name);

    /// <summary>The first value of field <paramref name="name"/> in <paramref name="fields"/>, or null.</summary>
    public static string? Find(IReadOnlyList<KeyValuePair<string, string>> fields, string name)
    {
        foreach (var (key, value) in fields)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value;
        return null;
    }

    /// <summary>Whether a comma-separated field (Connection, Cache-Control, Transfer-Encoding) holds <paramref name="token"/>.</summary>
    public bool HasToken(string name, string token)
    {
        foreach (var (key, value) in Fields)
        {
            if (!string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var part in value.Split(','))
            {
                var item = part.AsSpan().Trim();
                var equals = item.IndexOf('=');
                if (equals >= 0) item = item[..equals].TrimEnd();
                if (item.Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    /// <summary>The value of a directive such as <c>max-age=60</c> in a comma-separated field, or null.</summary>
    public string? Directive(string name, string directive)
    {
        foreach (var (key, value) in Fields)
        {
            if (!string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var part in value.Split(','))
            {
                var item = part.AsSpan().Trim();
                var equals = item.IndexOf('=');
                if (equals < 0 || !item[..equals].TrimEnd().Equals(directive, StringComparison.OrdinalIgnoreCase)) continue;
                return item[(equals + 1)..].Trim().Trim('"').ToString();
            }
        }
        return null;
    }

    public void Remove(string name) => Fields.RemoveAll(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase));

    public void Set(string name, string value)
    {
        Remove(name);
        Fields.Add(new(name, value));
    }

    /// <summary>
    /// Removes the hop-by-hop fields (RFC 9110 §7.6.1): those of one connection only, never forwarded — the fixed ones
    /// and every field the Connection header names.
    /// </summary>
    public void RemoveHopByHop()
    {
        var named = new List<string>();
        foreach (var (key, value) in Fields)
            if (key.Equals("Connection", StringComparison.OrdinalIgnoreCase) || key.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase))
                foreach (var token in value.Split(',')) named.Add(token.Trim());
        Fields.RemoveAll(f => IsHopByHop(f.Key) || named.Exists(n => n.Equals(f.Key, StringComparison.OrdinalIgnoreCase)));
    }

    private static bool IsHopByHop(string name) => name.ToLowerInvariant() switch
    {
        "connection" or "proxy-connection" or "keep-alive" or "te" or "trailer" or "transfer-encoding" or "upgrade"
            or "proxy-authorization" or "proxy-authenticate" => true,
        _ => false,
    };

    /// <summary>Parses a head as <see cref="HttpMessageReader.ReadHeadAsync"/> returns it.</summary>
    /// <exception cref="FormatException">Not an HTTP/1.x head; the message says what is wrong.</exception>
    public static HttpHead Parse(ReadOnlySpan<byte> head, int maxFields)
    {
        var text = Encoding.Latin1.GetString(head);
        var lines = text.Split('\n');
        var start = lines[0].TrimEnd('\r');
        var firstSpace = start.IndexOf(' ');
        if (firstSpace <= 0) throw new FormatException($"Not an HTTP start line: \"{Shorten(start)}\".");
        var secondSpace = start.IndexOf(' ', firstSpace + 1);
        var first = start[..firstSpace];
        var second = secondSpace < 0 ? start[(firstSpace + 1)..] : start[(firstSpace + 1)..secondSpace];
        var third = secondSpace < 0 ? "" : start[(secondSpace + 1)..];
        if (second.Length == 0) throw new FormatException($"Not an HTTP start line: \"{Shorten(start)}\".");
        if (lines.Length - 1 > maxFields) throw new FormatException($"More than {maxFields} header fields.");
        var fields = new List<KeyValuePair<string, string>>(lines.Length - 1);
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t'))
                throw new FormatException("A folded header line (obsolete line folding is not accepted).");
            var colon = line.IndexOf(':');
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAny(' ', '\t'))
                throw new FormatException($"Not a header field: \"{Shorten(line)}\".");
            fields.Add(new(line[..colon], line[(colon + 1)..].Trim(' ', '\t')));
        }
        return new HttpHead(first, second, third, fields);
    }

    /// <summary>A new head with the given start line and fields.</summary>
    public static HttpHead Create(string first, string second, string third, IEnumerable<KeyValuePair<string, string>> fields) =>
        new(first, second, third, fields.ToList());

    /// <summary>The head as sent on the wire, blank line included.</summary>
    public byte[] ToBytes()
    {
        var text = new StringBuilder(256);
        text.Append(First).Append(' ').Append(Second);
        if (Third.Length > 0) text.Append(' ').Append(Third);
        text.Append("\r\n");
        foreach (var (key, value) in Fields) text.Append(key).Append(": ").Append(value).Append("\r\n");
        text.Append("\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    public override string ToString() => Encoding.Latin1.GetString(ToBytes()).TrimEnd();

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "…";
}

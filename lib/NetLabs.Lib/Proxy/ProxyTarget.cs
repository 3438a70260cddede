using System.Globalization;

namespace NetLabs.Proxy;

/// <summary>
/// Where a proxied request goes: the absolute-form target <c>http://host:port/path?query</c> of the request line taken
/// apart without rewriting the path (the origin gets it byte for byte as the client sent it), or CONNECT's
/// <c>host:port</c>. <see cref="CacheKey"/> is the URL the cache files it under: host lower-case, port always given.
/// </summary>
public sealed record ProxyTarget(string Host, int Port, string PathAndQuery)
{
    /// <summary>Host and port as the Host field wants them (port left out when it is 80).</summary>
    public string Authority => (Host.Contains(':') ? $"[{Host}]" : Host) + (Port == 80 ? "" : ":" + Port.ToString(CultureInfo.InvariantCulture));

    public string CacheKey => $"http://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}{PathAndQuery}";

    public override string ToString() => $"http://{Authority}{PathAndQuery}";

    /// <summary>Parses an absolute-form target; the error says what is wrong in a sentence.</summary>
    public static bool TryParseAbsolute(string target, out ProxyTarget? result, out string error)
    {
        result = null;
        var schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
        if (target.StartsWith('/') || target == "*")
        {
            error = $"The request line has \"{Shorten(target)}\" where a proxy needs the whole URL (GET http://host/path HTTP/1.1): is the client set to use a proxy?";
            return false;
        }
        if (schemeEnd < 0)
        {
            error = $"\"{Shorten(target)}\" is not an absolute URL.";
            return false;
        }
        var scheme = target[..schemeEnd];
        if (!scheme.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            error = scheme.Equals("https", StringComparison.OrdinalIgnoreCase)
                ? "https:// URLs go through a proxy with CONNECT (a tunnel), not as a GET."
                : $"The scheme {scheme}: is not supported (only http://).";
            return false;
        }
        var rest = target[(schemeEnd + 3)..];
        var fragment = rest.IndexOf('#');
        if (fragment >= 0) rest = rest[..fragment];
        var pathStart = rest.IndexOfAny(['/', '?']);
        var authority = pathStart < 0 ? rest : rest[..pathStart];
        var path = pathStart < 0 ? "/" : rest[pathStart..];
        if (path.StartsWith('?')) path = "/" + path;
        if (path.Any(c => c == ' ' || char.IsControl(c)))
        {
            error = "The URL has spaces or control characters.";
            return false;
        }
        if (!TryParseAuthority(authority, 80, out var host, out var port, out error)) return false;
        result = new ProxyTarget(host, port, path);
        return true;
    }

    /// <summary>Parses CONNECT's <c>host:port</c> (the port is required).</summary>
    public static bool TryParseAuthority(string authority, int? defaultPort, out string host, out int port, out string error)
    {
        host = "";
        port = 0;
        if (authority.Contains('@'))
        {
            error = "A user name in the URL (user@host) is not forwarded.";
            return false;
        }
        string portText;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0) { error = $"\"{Shorten(authority)}\" is not host:port."; return false; }
            host = authority[1..close];
            portText = authority[(close + 1)..].TrimStart(':');
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? "" : authority[(colon + 1)..];
        }
        if (host.Length == 0 || host.Length > 253 || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':' or '_'))
        {
            error = $"\"{Shorten(host)}\" is not a host name.";
            return false;
        }
        if (portText.Length == 0 && defaultPort is { } fallback) port = fallback;
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"\"{Shorten(authority)}\" has no valid port (1–65535).";
            return false;
        }
        host = host.ToLowerInvariant();
        error = "";
        return true;
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "…";
}

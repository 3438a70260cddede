using System.Buffers;
using System.Text;

namespace NetLabs.Web;

/// <summary>What a request target names inside the server's root folder.</summary>
public sealed record PathResolution
{
    /// <summary>200: <see cref="FilePath"/> is a regular file under the root. 301: a folder asked without its
    /// final "/" (see <see cref="Location"/>). 400, 403, 404: refused, <see cref="Reason"/> says why.</summary>
    public required int Status { get; init; }
    public string? FilePath { get; init; }
    public string? Location { get; init; }
    public string? Reason { get; init; }
    /// <summary>True when the request tried to leave the root (a refusal worth noticing in the log).</summary>
    public bool Hostile { get; init; }
}

/// <summary>
/// Maps a request target to a file under the root, and never to anything outside it. Two steps:
/// <see cref="Decode"/> checks and percent-decodes the path without touching the disk (refusing "..",
/// encoded slashes, backslashes, NUL, control bytes, invalid UTF-8); <see cref="Resolve"/> then follows the
/// path on disk like realpath(3), symbolic links included, and refuses anything whose real location is not
/// inside the root's real location.
/// </summary>
public static class RequestPath
{
    private const int MaxSymbolicLinks = 40;

    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// The decoded path segments of a target ("/a%20b/c.html?x=1" → ["a b", "c.html"]), with
    /// <paramref name="folder"/> true when the path ends in "/". Query and fragment are dropped; "." and empty
    /// segments are skipped. Touches no disk. Returns null when the target is acceptable, else the refusal
    /// (400, 403 or 404) to answer.
    /// </summary>
    public static PathResolution? Decode(string target, out List<string> segments, out bool folder)
    {
        segments = [];
        folder = false;
        var path = target.AsSpan();
        if (path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            // absolute-form ("GET http://host/path HTTP/1.1"): keep the path part only.
            path = path[(path.IndexOf("//") + 2)..];
            var slash = path.IndexOf('/');
            path = slash < 0 ? "/" : path[slash..];
        }
        if (path.IsEmpty || path[0] != '/') return Refuse(400, "request target is not an absolute path");
        var end = path.IndexOfAny('?', '#');
        if (end >= 0) path = path[..end];
        if (path.Contains('\\')) return Refuse(400, "backslash in path", hostile: true);
        folder = path[^1] == '/';

        foreach (var range in path.Split('/'))
        {
            var raw = path[range];
            if (raw.IsEmpty) continue;
            var (segment, refusal) = PercentDecode(raw);
            if (refusal is not null) return refusal;
            if (segment == ".") continue;
            if (segment == "..") return Refuse(403, "'..' in path (traversal attempt)", hostile: true);
            if (segment[0] == '.') return Refuse(404, "hidden name (starts with '.')");
            if (segment.Contains(':')) return Refuse(400, "':' in path (drive or stream name)", hostile: true);
            segments.Add(segment);
        }
        return null;
    }

    /// <summary>
    /// Resolves a target against the root (which must be a real path: see <see cref="RealPath"/>): the file to
    /// send, a redirect for a folder without its "/", or a refusal. A folder serves its index.html.
    /// </summary>
    public static PathResolution Resolve(string realRoot, string target)
    {
        if (Decode(target, out var segments, out var folder) is { } refusal) return refusal;

        var real = RealPath(segments.Count == 0 ? realRoot : Path.Join(realRoot, string.Join(Path.DirectorySeparatorChar, segments)));
        if (real is null) return Refuse(404, "no such file");
        if (!IsUnder(real, realRoot)) return Outside();
        if (Directory.Exists(real))
        {
            if (!folder)
            {
                // Relative links in the folder's index.html only work from ".../folder/".
                var location = "/" + string.Join('/', segments.Select(Uri.EscapeDataString)) + "/";
                var query = target.IndexOf('?');
                return new PathResolution { Status = 301, Location = query < 0 ? location : location + target[query..], Reason = "folder without final /" };
            }
            real = RealPath(Path.Join(real, "index.html"));
            if (real is null) return Refuse(404, "folder without index.html");
            if (!IsUnder(real, realRoot)) return Outside();
        }
        return File.Exists(real) ? new PathResolution { Status = 200, FilePath = real } : Refuse(404, "not a regular file");

        static PathResolution Outside() => Refuse(403, "symbolic link leads outside the root", hostile: true);
    }

    private static PathResolution Refuse(int status, string reason, bool hostile = false) =>
        new() { Status = status, Reason = reason, Hostile = hostile };

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies below it (both real paths).</summary>
    public static bool IsUnder(string path, string root)
    {
        root = root.TrimEnd(Path.DirectorySeparatorChar);
        if (root.Length == 0) return true; // the file system root
        return path.Equals(root, PathComparison)
               || path.Length > root.Length && path[root.Length] == Path.DirectorySeparatorChar && path.StartsWith(root, PathComparison);
    }

    /// <summary>
    /// The canonical path of an existing file or folder, with every symbolic link on the way followed (what
    /// realpath(3) gives), or null when a part of it does not exist or the links loop.
    /// </summary>
    public static string? RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var fsRoot = Path.GetPathRoot(full)!;
        var pending = new List<string>(full[fsRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        var resolved = fsRoot;
        var links = 0;
        while (pending.Count > 0)
        {
            var segment = pending[0];
            pending.RemoveAt(0);
            if (segment == ".") continue;
            if (segment == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? fsRoot;
                continue;
            }
            var candidate = Path.Join(resolved, segment);
            FileSystemInfo entry = new FileInfo(candidate);
            if (!entry.Exists)
            {
                entry = new DirectoryInfo(candidate);
                if (!entry.Exists && entry.LinkTarget is null) return null; // missing (a dangling link still has a target)
            }
            if (entry.LinkTarget is { } target)
            {
                if (++links > MaxSymbolicLinks) return null;
                if (Path.IsPathRooted(target))
                {
                    resolved = Path.GetPathRoot(target)!;
                    target = target[resolved.Length..];
                }
                pending.InsertRange(0, target.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
                continue;
            }
            resolved = candidate;
        }
        return resolved;
    }

    /// <summary>
    /// Percent-decodes one path segment to UTF-8 text, refusing what could change the path's meaning or
    /// confuse the file system: an encoded "/" or "\", NUL and other control bytes, malformed escapes.
    /// </summary>
    private static (string Segment, PathResolution? Refusal) PercentDecode(ReadOnlySpan<char> raw)
    {
        Span<byte> bytes = raw.Length <= 256 ? stackalloc byte[raw.Length * 3] : new byte[raw.Length * 3];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c > 0x7F)
            {
                // Already decoded text (from a handler that did not get it off the wire): take it as UTF-8.
                if (Rune.DecodeFromUtf16(raw[i..], out var rune, out var used) != OperationStatus.Done)
                    return ("", Refuse(400, "path is not valid text"));
                n += rune.EncodeToUtf8(bytes[n..]);
                i += used - 1;
                continue;
            }
            if (c == '%')
            {
                if (i + 2 >= raw.Length || !char.IsAsciiHexDigit(raw[i + 1]) || !char.IsAsciiHexDigit(raw[i + 2]))
                    return ("", Refuse(400, "malformed percent escape"));
                c = (char)(HexValue(raw[i + 1]) * 16 + HexValue(raw[i + 2]));
                i += 2;
                if (c is '/' or '\\') return ("", Refuse(400, "encoded slash or backslash in path (traversal attempt)", hostile: true));
            }
            if (c == '\0') return ("", Refuse(400, "NUL byte in path", hostile: true));
            if (c < 0x20 || c == 0x7F) return ("", Refuse(400, "control byte in path"));
            bytes[n++] = (byte)c;
        }
        try
        {
            return (StrictUtf8.GetString(bytes[..n]), null);
        }
        catch (DecoderFallbackException)
        {
            return ("", Refuse(400, "path is not valid UTF-8"));
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

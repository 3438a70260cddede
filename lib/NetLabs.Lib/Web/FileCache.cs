using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace NetLabs.Web;

/// <summary>A file found for a request target: where it is, what it is, and its bytes when it is small.</summary>
internal sealed class FileEntry
{
    public required string FilePath { get; init; }
    public required long Length { get; init; }
    /// <summary>Last write time, whole seconds (what Last-Modified can say).</summary>
    public required DateTimeOffset LastModified { get; init; }
    public required DateTime LastWriteUtc { get; init; }
    /// <summary>The whole file, when small enough to keep; otherwise null and the file is streamed.</summary>
    public byte[]? Content { get; init; }
    /// <summary>"Content-Type: …\r\nContent-Length: …\r\nLast-Modified: …\r\n", ready to copy into a head.</summary>
    public required byte[] Headers { get; init; }
    /// <summary>"Last-Modified: …\r\n" alone (for 304).</summary>
    public required byte[] LastModifiedLine { get; init; }
    public long ExpiresAt; // Stopwatch timestamp
}

/// <summary>
/// Remembers, for a short time, which file a target resolved to and (for small files) its bytes, so a busy
/// server does not walk the path and read the disk on every request. After <see cref="_validity"/> the path
/// is resolved again and the file's size and date compared; a changed file is read again.
/// </summary>
internal sealed class FileCache(string realRoot, TimeSpan validity, int maxFileBytes)
{
    private const int MaxEntries = 4096;
    private const long MaxTotalBytes = 64L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, FileEntry> _entries = new();
    private readonly long _validity = (long)(validity.TotalSeconds * Stopwatch.Frequency);
    private long _totalBytes;

    /// <summary>The file for a request target, or the refusal (301, 400, 403, 404) to answer.</summary>
    public (FileEntry? File, PathResolution? Refusal) Lookup(string target)
    {
        var query = target.IndexOfAny(['?', '#']);
        var key = query < 0 ? target : target[..query];
        var now = Stopwatch.GetTimestamp();
        _entries.TryGetValue(key, out var cached);
        if (cached is not null && now < Volatile.Read(ref cached.ExpiresAt)) return (cached, null);

        var resolution = RequestPath.Resolve(realRoot, target);
        if (resolution.Status != 200)
        {
            if (cached is not null) Forget(key, cached);
            return (null, resolution);
        }
        var info = new FileInfo(resolution.FilePath!);
        if (cached is not null && cached.FilePath == info.FullName && cached.Length == info.Length && cached.LastWriteUtc == info.LastWriteTimeUtc)
        {
            Volatile.Write(ref cached.ExpiresAt, now + _validity);
            return (cached, null);
        }

        var content = info.Length <= maxFileBytes ? File.ReadAllBytes(info.FullName) : null;
        var modified = new DateTimeOffset(info.LastWriteTimeUtc.Ticks - info.LastWriteTimeUtc.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var length = content?.Length ?? info.Length;
        var lastModifiedLine = Encoding.ASCII.GetBytes($"Last-Modified: {HttpResponseHead.FormatDate(modified)}\r\n");
        var entry = new FileEntry
        {
            FilePath = info.FullName,
            Length = length,
            LastModified = modified,
            LastWriteUtc = info.LastWriteTimeUtc,
            Content = content,
            Headers = [.. Encoding.ASCII.GetBytes($"Content-Type: {MimeTypes.For(info.Name)}\r\nContent-Length: {length}\r\n"), .. lastModifiedLine],
            LastModifiedLine = lastModifiedLine,
            ExpiresAt = now + _validity,
        };
        if (cached is not null) Forget(key, cached);
        if (_validity > 0 && _entries.Count < MaxEntries && Interlocked.Add(ref _totalBytes, content?.Length ?? 0) <= MaxTotalBytes)
        {
            if (!_entries.TryAdd(key, entry)) Interlocked.Add(ref _totalBytes, -(content?.Length ?? 0));
        }
        else if (content is not null) Interlocked.Add(ref _totalBytes, -content.Length);
        return (entry, null);
    }

    private void Forget(string key, FileEntry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<string, FileEntry>(key, entry)))
            Interlocked.Add(ref _totalBytes, -(entry.Content?.Length ?? 0));
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NetLabs.Display;

namespace NetLabs.Proxy;

/// <summary>What the cache holds and did.</summary>
public sealed record ProxyCacheStatistics(int Objects, long Bytes, long CapacityBytes, long Stores, long Evictions, long DiskObjects, long DiskBytes);

/// <summary>
/// The proxy's cache: objects keyed on their absolute URL, in memory within <see cref="CapacityBytes"/>, least
/// recently used evicted first (LRU: a dictionary to find, a linked list to order, both O(1)). With a folder, every
/// stored object is also written there (one file each, named by the URL's SHA-256), so a restarted proxy still has
/// it; the folder is bounded by the same number of bytes, its least recently used files deleted first (a second LRU
/// list, so a store evicts in O(1) per file removed: the folder is listed once, at start).
/// Thread-safe; one lock, held only for dictionary and list work (never for disk or network).
/// </summary>
public sealed class ProxyCache : IHtmlDisplay
{
    private static readonly byte[] FileMagic = "NETLABS-PROXY-CACHE 1\n"u8.ToArray();
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<CachedResponse>> _byUrl = new(StringComparer.Ordinal);
    private readonly LinkedList<CachedResponse> _recency = new(); // most recently used first
    private readonly Dictionary<string, LinkedListNode<(string Name, long Size)>> _disk = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Name, long Size)> _diskRecency = new(); // most recently used first
    private long _bytes, _diskBytes, _stores, _evictions;

    /// <param name="capacityBytes">Bytes of memory for objects (and, separately, of the folder).</param>
    /// <param name="maxObjectBytes">Largest body stored; larger objects are relayed, never kept.</param>
    /// <param name="directory">A folder that keeps objects across restarts, or null for memory only.</param>
    public ProxyCache(long capacityBytes, long maxObjectBytes, string? directory = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(maxObjectBytes);
        CapacityBytes = capacityBytes;
        MaxObjectBytes = Math.Min(maxObjectBytes, Math.Min(capacityBytes, Array.MaxLength));
        Directory = directory is null ? null : Path.GetFullPath(directory);
        if (Directory is not null)
        {
            System.IO.Directory.CreateDirectory(Directory);
            // Newest first: the order files were last written in stands for their last use before the restart.
            foreach (var file in new DirectoryInfo(Directory).EnumerateFiles("*.cache").OrderByDescending(f => f.LastWriteTimeUtc))
            {
                _disk[file.Name] = _diskRecency.AddLast((file.Name, file.Length));
                _diskBytes += file.Length;
            }
            TrimDisk();
        }
    }

    public long CapacityBytes { get; }
    public long MaxObjectBytes { get; }
    public string? Directory { get; }

    public ProxyCacheStatistics Statistics
    {
        get
        {
            lock (_lock) return new(_byUrl.Count, _bytes, CapacityBytes, _stores, _evictions, _disk.Count, _diskBytes);
        }
    }

    /// <summary>The object stored for <paramref name="url"/> (fresh or not: the caller decides), or null.</summary>
    public CachedResponse? Get(string url)
    {
        lock (_lock)
        {
            if (_byUrl.TryGetValue(url, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value;
            }
        }
        if (Directory is null) return null;
        var loaded = ReadFile(url);
        if (loaded is not null) AddToMemory(loaded);
        return loaded;
    }

    /// <summary>Stores (or replaces) an object; one larger than <see cref="MaxObjectBytes"/> is not kept.</summary>
    public bool Store(CachedResponse response)
    {
        if (response.Body.Length > MaxObjectBytes || response.Size > CapacityBytes) return false;
        AddToMemory(response);
        lock (_lock) _stores++;
        if (Directory is not null) WriteFile(response);
        return true;
    }

    /// <summary>
    /// The textbook's cache, for the student version of the lab: keeps a whole answer as it came from the origin
    /// (status line, fields, body) under <paramref name="url"/>, if it is a complete <c>200 OK</c>. No expiry, no
    /// revalidation — that is what the library's own proxy adds. False when it was not kept (not 200, a cut-off body,
    /// larger than the object limit).
    /// </summary>
    public bool StoreRaw(string url, byte[] response)
    {
        var headEnd = response.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headEnd < 0) return false;
        HttpHead head;
        try
        {
            head = HttpHead.Parse(response.AsSpan(0, headEnd), 1000);
        }
        catch (FormatException)
        {
            return false;
        }
        var body = response[(headEnd + 4)..];
        if (head.Second != "200" || head["Transfer-Encoding"] is not null) return false;
        if (head["Content-Length"] is { } length && length.Trim() != body.Length.ToString(CultureInfo.InvariantCulture)) return false;
        head.RemoveHopByHop();
        head.Remove("Content-Length");
        return Store(new CachedResponse(url, 200, head.Third, head.Fields, body, DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(3650), []));
    }

    /// <summary>The whole answer <see cref="StoreRaw"/> kept for <paramref name="url"/>, ready to send to a client.</summary>
    public bool TryGetRaw(string url, out byte[] response)
    {
        if (Get(url) is not { } cached)
        {
            response = [];
            return false;
        }
        var status = Encoding.Latin1.GetBytes(string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {cached.Status} {cached.Reason}\r\n"));
        var tail = Encoding.Latin1.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Content-Length: {cached.Body.Length}\r\nConnection: close\r\n\r\n"));
        response = [.. status, .. cached.FieldBytes, .. tail, .. cached.Body];
        return true;
    }

    /// <summary>Forgets the object of <paramref name="url"/> (after a POST, PUT or DELETE to it: RFC 9111 §4.4).</summary>
    public void Remove(string url)
    {
        lock (_lock)
        {
            if (_byUrl.Remove(url, out var node))
            {
                _recency.Remove(node);
                _bytes -= node.Value.Size;
            }
        }
        if (Directory is not null) DeleteFile(FileName(url));
    }

    /// <summary>Empties memory (the folder stays, as after a restart).</summary>
    public void ClearMemory()
    {
        lock (_lock)
        {
            _byUrl.Clear();
            _recency.Clear();
            _bytes = 0;
        }
    }

    /// <summary>The objects in memory, most recently used first.</summary>
    public IReadOnlyList<CachedResponse> Snapshot()
    {
        lock (_lock) return _recency.ToList();
    }

    private void AddToMemory(CachedResponse response)
    {
        lock (_lock)
        {
            if (_byUrl.Remove(response.Url, out var old))
            {
                _recency.Remove(old);
                _bytes -= old.Value.Size;
            }
            _byUrl[response.Url] = _recency.AddFirst(response);
            _bytes += response.Size;
            while (_bytes > CapacityBytes && _recency.Last is { } last)
            {
                _recency.RemoveLast();
                _byUrl.Remove(last.Value.Url);
                _bytes -= last.Value.Size;
                _evictions++;
            }
        }
    }

    private static string FileName(string url) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url))) + ".cache";

    private sealed record FileHeader(string Url, int Status, string Reason, List<string[]> Fields, DateTimeOffset ResponseTime,
        double InitialAgeSeconds, double FreshnessSeconds, List<string[]> Vary);

    private void WriteFile(CachedResponse response)
    {
        var name = FileName(response.Url);
        var header = JsonSerializer.SerializeToUtf8Bytes(new FileHeader(response.Url, response.Status, response.Reason,
            response.Fields.Select(f => new[] { f.Key, f.Value }).ToList(), response.ResponseTime, response.InitialAge.TotalSeconds,
            response.FreshnessLifetime.TotalSeconds, response.Vary.Select(f => new[] { f.Key, f.Value }).ToList()));
        var path = Path.Combine(Directory!, name);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var file = File.Create(temporary))
            {
                file.Write(FileMagic);
                file.Write(BitConverter.GetBytes(header.Length));
                file.Write(header);
                file.Write(response.Body);
            }
            File.Move(temporary, path, overwrite: true); // readers see the old file or the new one, never half of one
            var size = new FileInfo(path).Length;
            lock (_lock)
            {
                if (_disk.Remove(name, out var old))
                {
                    _diskRecency.Remove(old);
                    _diskBytes -= old.Value.Size;
                }
                _disk[name] = _diskRecency.AddFirst((name, size));
                _diskBytes += size;
            }
            TrimDisk();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk only costs the copy on disk; memory still has the object.
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private CachedResponse? ReadFile(string url)
    {
        var name = FileName(url);
        lock (_lock)
        {
            if (!_disk.TryGetValue(name, out var entry)) return null;
            _diskRecency.Remove(entry);
            _diskRecency.AddFirst(entry);
        }
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(Directory!, name));
            if (bytes.Length < FileMagic.Length + 4 || !bytes.AsSpan(0, FileMagic.Length).SequenceEqual(FileMagic)) return null;
            var headerLength = BitConverter.ToInt32(bytes, FileMagic.Length);
            var bodyStart = FileMagic.Length + 4 + headerLength;
            if (headerLength < 0 || bodyStart > bytes.Length) return null;
            var header = JsonSerializer.Deserialize<FileHeader>(bytes.AsSpan(FileMagic.Length + 4, headerLength));
            if (header is null || header.Url != url) return null; // a hash collision or a damaged file: not this object
            return new CachedResponse(url, header.Status, header.Reason, header.Fields.Select(f => new KeyValuePair<string, string>(f[0], f[1])).ToList(),
                bytes[bodyStart..], header.ResponseTime, TimeSpan.FromSeconds(header.InitialAgeSeconds), TimeSpan.FromSeconds(header.FreshnessSeconds),
                header.Vary.Select(f => new KeyValuePair<string, string>(f[0], f[1])).ToList());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or ArgumentException)
        {
            return null;
        }
    }

    private void TrimDisk()
    {
        while (true)
        {
            string victim;
            lock (_lock)
            {
                if (_diskBytes <= CapacityBytes || _diskRecency.Last is not { } last) return;
                victim = last.Value.Name;
            }
            DeleteFile(victim);
        }
    }

    private void DeleteFile(string name)
    {
        lock (_lock)
        {
            if (!_disk.Remove(name, out var entry)) return;
            _diskRecency.Remove(entry);
            _diskBytes -= entry.Value.Size;
        }
        try { File.Delete(Path.Combine(Directory!, name)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public string ToHtml() => new HtmlTable($"Proxy cache: {this}", ["URL", "status", "bytes", "age", "fresh for"],
        Snapshot().Take(30).Select(r => (IReadOnlyList<string>)[r.Url, r.Status.ToString(CultureInfo.InvariantCulture),
            r.Body.Length.ToString("N0", CultureInfo.InvariantCulture), $"{r.Age(DateTimeOffset.UtcNow).TotalSeconds:0} s",
            $"{r.FreshnessLifetime.TotalSeconds:0} s"])).ToHtml();

    public override string ToString()
    {
        var s = Statistics;
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Objects} objects, {s.Bytes:N0} of {s.CapacityBytes:N0} bytes, {s.Evictions} evicted{(Directory is null ? "" : $", {s.DiskObjects} on disk in {Directory}")}");
    }
}

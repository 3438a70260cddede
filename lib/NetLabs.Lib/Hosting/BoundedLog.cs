namespace NetLabs.Hosting;

/// <summary>
/// The most recent entries of a server's log, in a fixed-size ring: memory stays bounded whatever clients send, and
/// adding is O(1) (no <c>RemoveAt(0)</c> shifting). Thread-safe; <see cref="Snapshot"/> returns oldest first.
/// <see cref="Total"/> counts every entry ever added, kept or not.
/// </summary>
public sealed class BoundedLog<T>
{
    private readonly T[] _ring;
    private readonly object _lock = new();
    private long _total, _clearedAt;

    public BoundedLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _ring = new T[capacity];
    }

    public int Capacity => _ring.Length;

    /// <summary>Entries ever added (also those that no longer fit, and those cleared).</summary>
    public long Total => Interlocked.Read(ref _total);

    public void Add(T entry)
    {
        lock (_lock)
        {
            if (_ring.Length > 0) _ring[_total % _ring.Length] = entry;
            _total++;
        }
    }

    /// <summary>The kept entries, oldest first.</summary>
    public IReadOnlyList<T> Snapshot()
    {
        lock (_lock)
        {
            var kept = (int)Math.Min(_ring.Length, _total - _clearedAt);
            var result = new T[kept];
            for (var i = 0; i < kept; i++) result[i] = _ring[(_total - kept + i) % _ring.Length];
            return result;
        }
    }

    /// <summary>Forgets the kept entries (the <see cref="Total"/> stays).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            Array.Clear(_ring);
            _clearedAt = _total;
        }
    }
}

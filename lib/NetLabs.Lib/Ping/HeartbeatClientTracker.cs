namespace NetLabs.Ping;

/// <summary>
/// One client's heartbeats as the server sees them: what arrived, what is missing, what came twice or late. Memory and
/// work per heartbeat stay bounded whatever the sequence numbers say: a gap is counted, never enumerated, and only its
/// latest <c>missingWindow</c> numbers are remembered, to recognise a late one as reordered.
/// </summary>
internal sealed class HeartbeatClientTracker(HeartbeatClientKey key, int missingWindow)
{
    private readonly SortedSet<long> _missing = [];
    private long _highest = -1;
    private DateTimeOffset _latestSentAt = DateTimeOffset.MinValue;
    private long _received, _lost, _reordered, _duplicates, _restarts;
    private TimeSpan? _lastDelay;
    private double _delaySumMs; // a double, not a TimeSpan: forged timestamps centuries off cannot overflow it

    public HeartbeatClientKey Key { get; } = key;
    /// <summary>When the latest heartbeat arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    public long LastSeen { get; private set; }
    public bool Stopped { get; private set; }
    /// <summary>How many missing numbers are remembered (never more than the window).</summary>
    internal int RememberedMissing => _missing.Count;

    /// <summary>Takes one heartbeat and adds the events it causes to <paramref name="events"/>.</summary>
    public void Take(HeartbeatMessage message, TimeSpan delay, TimeSpan at, long receivedTimestamp, List<HeartbeatEvent> events)
    {
        LastSeen = receivedTimestamp;
        var sequence = message.Sequence;
        if (IsRestart(message))
        {
            _restarts++;
            StartOver();
            events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Restarted, Key, sequence, delay));
        }
        else if (Stopped || _highest < 0)
            events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Started, Key, sequence, delay));
        Stopped = false;
        if (message.SentAt > _latestSentAt) _latestSentAt = message.SentAt;

        if (sequence > _highest)
        {
            if (_highest >= 0 && sequence - _highest > 1)
            {
                var firstMissing = _highest + 1;
                _lost += sequence - firstMissing;
                RememberMissing(firstMissing, sequence);
                events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Lost, Key, firstMissing, null, sequence - firstMissing));
            }
            _highest = sequence;
            Count(delay);
            events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Received, Key, sequence, delay));
        }
        else if (_missing.Remove(sequence))
        {
            _lost--;
            _reordered++;
            Count(delay);
            events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Reordered, Key, sequence, delay));
        }
        else
        {
            // Seen before, or missing so long ago that it left the window: either way not news.
            _duplicates++;
            events.Add(new HeartbeatEvent(at, HeartbeatEventKind.Duplicate, Key, sequence, delay));
        }
    }

    /// <summary>
    /// A restarted client numbers from 1 again. Its heartbeat is told from a late or duplicated one by its timestamp,
    /// newer than any the client sent before (a late heartbeat carries an older one, a duplicate the same), and by
    /// its number: 1 (or 0), far below the highest, or after the client was declared stopped.
    /// </summary>
    private bool IsRestart(HeartbeatMessage message) =>
        _highest >= 0 && message.Sequence <= _highest && message.SentAt > _latestSentAt
        && (message.Sequence <= 1 || Stopped || _highest - message.Sequence > missingWindow);

    /// <summary>Declares the client stopped; false when it already was.</summary>
    public bool MarkStopped()
    {
        if (Stopped) return false;
        Stopped = true;
        return true;
    }

    private void StartOver()
    {
        _missing.Clear();
        _highest = -1;
        _received = _lost = _reordered = _duplicates = 0;
        _lastDelay = null;
        _delaySumMs = 0;
    }

    /// <summary>Remembers the latest missing numbers of [<paramref name="first"/>, <paramref name="end"/>), at most the window.</summary>
    private void RememberMissing(long first, long end)
    {
        var from = Math.Max(first, end - missingWindow);
        if (end - from >= missingWindow) _missing.Clear();
        for (var number = from; number < end; number++) _missing.Add(number);
        while (_missing.Count > missingWindow) _missing.Remove(_missing.Min);
    }

    private void Count(TimeSpan delay)
    {
        _received++;
        _lastDelay = delay;
        _delaySumMs += delay.TotalMilliseconds;
    }

    public HeartbeatClientSummary Summary() => new(Key, _received, _lost, _reordered, _duplicates, _highest, _lastDelay,
        _received == 0 ? null : TimeSpan.FromMilliseconds(_delaySumMs / _received), Stopped, _restarts);
}

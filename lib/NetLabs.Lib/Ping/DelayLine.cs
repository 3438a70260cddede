using System.Diagnostics;

namespace NetLabs.Ping;

/// <summary>
/// Runs actions at given monotonic times, in time order, on a thread of its own: the ping server's added delay.
/// Why not <c>Task.Delay</c>: .NET timers fire on a millisecond grid and often a millisecond or two late, which would
/// add to every configured delay. Here the thread sleeps until about a millisecond before the due time, then yields
/// until it is there, so a 5 ms delay is 5 ms.
/// </summary>
internal sealed class DelayLine
{
    private static readonly TimeSpan SleepMargin = TimeSpan.FromMilliseconds(1.5);

    private readonly PriorityQueue<Action, long> _queue = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private bool _stopping, _abandon;

    public DelayLine(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public void Schedule(long dueTimestamp, Action action)
    {
        lock (_gate)
        {
            if (_stopping) return;
            _queue.Enqueue(action, dueTimestamp);
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Accepts nothing new, runs what is due within <paramref name="drain"/>, abandons the rest.</summary>
    public void Complete(TimeSpan drain)
    {
        lock (_gate) { _stopping = true; Monitor.Pulse(_gate); }
        if (_thread.Join(drain)) return;
        lock (_gate) { _abandon = true; Monitor.Pulse(_gate); }
        _thread.Join();
    }

    private void Run()
    {
        while (true)
        {
            Action? next = null;
            lock (_gate)
            {
                if (_abandon || (_stopping && _queue.Count == 0)) return;
                if (!_queue.TryPeek(out var action, out var due))
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (remaining <= TimeSpan.Zero)
                {
                    _queue.Dequeue();
                    next = action;
                }
                else if (remaining > SleepMargin)
                {
                    Monitor.Wait(_gate, remaining - SleepMargin); // woken early when something sooner is scheduled
                    continue;
                }
            }
            if (next is null) Thread.Yield(); // the last stretch: give way to others, but do not oversleep
            else next();
        }
    }
}

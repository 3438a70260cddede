using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using NetLabs.Display;

namespace NetLabs.Video;

/// <summary>What a playout buffer of some depth showed of a stream.</summary>
/// <param name="DepthFrames">Frame times the player waited after the first frame before it started.</param>
/// <param name="Delay">The delay the buffer was set to add: depth × frame time.</param>
/// <param name="MeanWait">Measured: how long a played frame waited in the buffer between its arrival and its slot, on average.</param>
/// <param name="Slots">Frame slots of the playout clock, from the first frame to the last.</param>
/// <param name="Played">Slots that showed their own frame.</param>
/// <param name="Frozen">Slots whose frame was not there in time: the previous picture stayed.</param>
/// <param name="Late">Frames that arrived after their slot had passed (their slot froze; they were thrown away).</param>
/// <param name="Lost">Frozen slots whose frame never came.</param>
/// <param name="Dropped">Frames thrown away because the buffer was full (a sender running far ahead).</param>
public sealed record PlayoutResult(int DepthFrames, TimeSpan Delay, TimeSpan MeanWait, int Slots, int Played, int Frozen, int Late, int Lost, int Dropped = 0)
{
    /// <summary>Share of frame slots where the picture froze (the previous frame stayed on screen).</summary>
    public double FrozenFraction => Slots == 0 ? 0 : (double)Frozen / Slots;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"buffer {DepthFrames} frames ({Delay.TotalMilliseconds:F0} ms, frames waited {MeanWait.TotalMilliseconds:F0} ms on average): {Played} played, {Frozen} frozen ({Late} late, {Lost} lost) of {Slots}");
}

/// <summary>One frame slot of the playout clock: the frame shown then, or the previous one again when the slot froze.</summary>
public readonly record struct PlayoutSlot(long Number, VideoFrame? Shown, bool Frozen);

/// <summary>
/// A live playout buffer. Frames go in as the receiver completes them (<see cref="Add"/>, from any thread) while
/// <see cref="PlayAsync"/> runs the player's clock: it waits <see cref="DepthFrames"/> frame times after the first frame
/// arrives, then shows frame n at start + n / fps. A frame in the buffer by its slot is shown; otherwise the picture
/// freezes for that slot (the previous frame stays), and the frame, if it comes later, is late and thrown away. A deeper
/// buffer freezes less and delays the picture more. Memory is bounded: at most <see cref="CapacityFrames"/> frames wait.
/// </summary>
public sealed class PlayoutBuffer
{
    private readonly object _lock = new();
    private readonly SortedDictionary<long, (VideoFrame Frame, long ArrivedAt)> _waiting = [];
    private readonly TaskCompletionSource _firstOrEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextSlot = long.MinValue; // the number of the frame the next slot shows; frames below it are late
    private long _lastArrival, _highest = long.MinValue;
    private int _late, _dropped;
    private bool _ended;

    /// <param name="depthFrames">Frame times the player waits after the first frame before it starts showing.</param>
    /// <param name="framesPerSecond">The stream's frame rate: the playout clock's tick.</param>
    /// <param name="capacityFrames">Most frames waiting at once; beyond, the oldest waiting frame is dropped.</param>
    public PlayoutBuffer(int depthFrames, double framesPerSecond, int capacityFrames = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depthFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityFrames);
        DepthFrames = depthFrames;
        FramesPerSecond = framesPerSecond;
        CapacityFrames = capacityFrames;
    }

    public int DepthFrames { get; }
    public double FramesPerSecond { get; }
    public int CapacityFrames { get; }
    public TimeSpan FrameTime => TimeSpan.FromSeconds(1 / FramesPerSecond);

    /// <summary>A frame the receiver completed, now. Late ones (their slot passed) are counted and thrown away.</summary>
    public void Add(VideoFrame frame)
    {
        lock (_lock)
        {
            if (_ended) return;
            _lastArrival = Stopwatch.GetTimestamp();
            _highest = Math.Max(_highest, frame.Number);
            if (frame.Number < _nextSlot)
            {
                _late++;
                return;
            }
            _waiting.TryAdd(frame.Number, (frame, _lastArrival));
            if (_waiting.Count > CapacityFrames)
            {
                _waiting.Remove(_waiting.Keys.First());
                _dropped++;
            }
        }
        _firstOrEnd.TrySetResult();
    }

    /// <summary>The stream ended: the player shows what is still waiting, then stops.</summary>
    public void Complete()
    {
        lock (_lock) _ended = true;
        _firstOrEnd.TrySetResult();
    }

    /// <summary>
    /// Runs the playout clock until the stream ended (<see cref="Complete"/>) and every waiting frame had its slot, or
    /// no frame came for <paramref name="silence"/>. <paramref name="onSlot"/> gets each slot as its time comes (the frame
    /// to show, or the previous one again when it froze). Returns what was played, frozen, late and lost.
    /// </summary>
    public async Task<PlayoutResult> PlayAsync(Action<PlayoutSlot>? onSlot, TimeSpan silence, CancellationToken cancellationToken = default)
    {
        // The clock starts at the first frame's arrival.
        try
        {
            await _firstOrEnd.Task.WaitAsync(silence, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Result(0, 0, 0, TimeSpan.Zero);
        }
        long start;
        lock (_lock)
        {
            if (_waiting.Count == 0) return Result(0, 0, 0, TimeSpan.Zero);
            var first = _waiting.First();
            start = first.Value.ArrivedAt;
            _nextSlot = first.Key;
        }

        var frameTicks = Stopwatch.Frequency / FramesPerSecond;
        int slots = 0, played = 0, frozen = 0;
        long waitedTicks = 0;
        VideoFrame? onScreen = null;
        for (var k = 0L; ; k++)
        {
            var due = start + (long)((DepthFrames + k) * frameTicks);
            var now = Stopwatch.GetTimestamp();
            if (due > now) await Task.Delay(Stopwatch.GetElapsedTime(now, due), cancellationToken).ConfigureAwait(false);
            PlayoutSlot slot;
            lock (_lock)
            {
                now = Stopwatch.GetTimestamp();
                var over = _highest < _nextSlot && (_ended || Stopwatch.GetElapsedTime(_lastArrival, now) > silence);
                if (over) break;
                var number = _nextSlot++;
                slots++;
                if (_waiting.Remove(number, out var waiting))
                {
                    played++;
                    waitedTicks += now - waiting.ArrivedAt;
                    onScreen = waiting.Frame;
                    slot = new PlayoutSlot(number, onScreen, Frozen: false);
                }
                else
                {
                    frozen++;
                    slot = new PlayoutSlot(number, onScreen, Frozen: true);
                }
            }
            onSlot?.Invoke(slot);
        }
        return Result(slots, played, frozen, played == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(0, waitedTicks / played));
    }

    private PlayoutResult Result(int slots, int played, int frozen, TimeSpan meanWait)
    {
        lock (_lock)
        {
            _ended = true;
            // Slots after the stream's last frame froze while the player waited to see whether more would come: no frame
            // was missing there, so they do not count.
            var afterEnd = slots == 0 ? 0 : (int)Math.Max(0, _nextSlot - 1 - _highest);
            slots -= afterEnd;
            frozen -= afterEnd;
            var late = Math.Min(_late, frozen);
            return new PlayoutResult(DepthFrames, DepthFrames * FrameTime, meanWait, slots, played, frozen, late, frozen - late, _dropped);
        }
    }

    /// <summary>
    /// Plays one stream through several buffers at once, live: every frame the receiver completes goes into each buffer
    /// as it arrives, and each buffer runs its own clock. The same arrivals, so only the depth differs.
    /// </summary>
    public static async Task<IReadOnlyList<PlayoutResult>> PlayThroughAsync(ChannelReader<VideoFrame> frames, IReadOnlyList<PlayoutBuffer> buffers, TimeSpan silence,
        CancellationToken cancellationToken = default)
    {
        var players = buffers.Select(b => b.PlayAsync(null, silence, cancellationToken)).ToList();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                wait.CancelAfter(silence);
                var frame = await frames.ReadAsync(wait.Token).ConfigureAwait(false);
                foreach (var buffer in buffers) buffer.Add(frame);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { } // silence: the stream is over
        catch (ChannelClosedException) { }
        finally
        {
            foreach (var buffer in buffers) buffer.Complete();
        }
        return await Task.WhenAll(players).ConfigureAwait(false);
    }

    /// <summary>Results of several buffers, as a table.</summary>
    public static HtmlTable Table(IReadOnlyList<PlayoutResult> results) => new("Playout buffer: depth against frozen frames",
        ["buffer (frames)", "added delay (ms)", "mean wait in buffer (ms)", "played", "frozen", "late", "lost"],
        results.Select(r => (IReadOnlyList<string>)
        [
            r.DepthFrames.ToString(CultureInfo.InvariantCulture), r.Delay.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture),
            r.MeanWait.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture),
            r.Played.ToString(CultureInfo.InvariantCulture), r.Frozen.ToString(CultureInfo.InvariantCulture),
            r.Late.ToString(CultureInfo.InvariantCulture), r.Lost.ToString(CultureInfo.InvariantCulture),
        ]));
}

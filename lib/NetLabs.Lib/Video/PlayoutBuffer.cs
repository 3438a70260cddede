using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Video;

/// <summary>What a playout buffer of some depth would have shown of a received stream.</summary>
public sealed record PlayoutResult(int DepthFrames, TimeSpan Delay, int Slots, int Played, int Frozen, int Late, int Lost)
{
    /// <summary>Share of frame slots where the picture froze (the previous frame stayed on screen).</summary>
    public double FrozenFraction => Slots == 0 ? 0 : (double)Frozen / Slots;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"buffer {DepthFrames} frames ({Delay.TotalMilliseconds:F0} ms): {Played} played, {Frozen} frozen ({Late} late, {Lost} lost) of {Slots}");
}

/// <summary>
/// A playout buffer: the player waits <c>depth</c> frame times after the first frame is complete, then shows frame n
/// at start + n / fps. A frame complete by its time is shown; otherwise the picture freezes for that slot, and the
/// frame, if it comes at all, is late and thrown away. A deeper buffer freezes less and delays more: this replays a
/// receiver's frame history (<see cref="RtpReceiver.FrameHistory"/>) through buffers of several depths.
/// </summary>
public static class PlayoutBuffer
{
    public static PlayoutResult Simulate(IReadOnlyList<VideoFrame> frames, int depthFrames, double framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depthFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(framesPerSecond);
        if (frames.Count == 0) return new PlayoutResult(depthFrames, TimeSpan.Zero, 0, 0, 0, 0, 0);
        var period = TimeSpan.FromSeconds(1 / framesPerSecond);
        var first = frames.MinBy(f => f.Number)!;
        var start = first.CompletedAt + depthFrames * period;
        var complete = frames.GroupBy(f => f.Number).ToDictionary(g => g.Key, g => g.Min(f => f.CompletedAt));
        var last = frames.Max(f => f.Number);
        int played = 0, late = 0, lost = 0;
        for (var n = first.Number; n <= last; n++)
        {
            if (!complete.TryGetValue(n, out var at)) lost++;
            else if (at <= start + (n - first.Number) * period) played++;
            else late++;
        }
        var slots = (int)(last - first.Number + 1);
        return new PlayoutResult(depthFrames, depthFrames * period, slots, played, slots - played, late, lost);
    }

    /// <summary>The same stream through buffers of each depth, as a table.</summary>
    public static HtmlTable Table(IReadOnlyList<PlayoutResult> results) => new("Playout buffer: depth against frozen frames",
        ["buffer (frames)", "added delay (ms)", "played", "frozen", "late", "lost"],
        results.Select(r => (IReadOnlyList<string>)
        [
            r.DepthFrames.ToString(CultureInfo.InvariantCulture), r.Delay.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture),
            r.Played.ToString(CultureInfo.InvariantCulture), r.Frozen.ToString(CultureInfo.InvariantCulture),
            r.Late.ToString(CultureInfo.InvariantCulture), r.Lost.ToString(CultureInfo.InvariantCulture),
        ]));
}

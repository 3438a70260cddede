using NetLabs.Charts;

namespace NetLabs.Video;

/// <summary>The video lab's charts, one call each, so a notebook cell stays one line.</summary>
public static class VideoCharts
{
    /// <summary>RFC 3550's running interarrival jitter estimate after each packet.</summary>
    public static Chart JitterOverTime(params (string Name, IReadOnlyList<ReceivedPacket> Packets)[] runs) =>
        new("Interarrival jitter (RFC 3550) as packets arrive",
            runs.Select(r => Trace.Lines(r.Name, r.Packets.Select(p => p.At.TotalSeconds), r.Packets.Select(p => p.JitterMs))))
        {
            XTitle = "time since the first packet (s)", YTitle = "jitter estimate J (ms)",
        };

    /// <summary>Time between consecutive packets: bursts (a frame's fragments) near 0, gaps of a frame time between frames.</summary>
    public static Chart InterArrivalHistogram(params (string Name, IReadOnlyList<ReceivedPacket> Packets)[] runs) =>
        new("Packet inter-arrival times",
            runs.Select(r => Trace.Histogram(r.Name, r.Packets.Zip(r.Packets.Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds), bins: 60)
                with { Opacity = runs.Length > 1 ? 0.6 : null }))
        {
            XTitle = "time since the previous packet (ms)", YTitle = "packets", BarMode = runs.Length > 1 ? "overlay" : null,
        };

    /// <summary>
    /// Share of frames lost against the configured packet loss p, with what independent losses predict when a frame
    /// takes k packets: a frame survives only if all k do, so 1 − (1 − p)^k of frames are lost.
    /// </summary>
    public static Chart FramesLostVsConfiguredLoss(IReadOnlyList<(double Configured, RtpReceiverStatistics Statistics)> points, double packetsPerFrame)
    {
        var grid = Enumerable.Range(0, 51).Select(i => i / 100.0).ToArray();
        var maxLoss = points.Max(p => p.Configured) + 0.05;
        grid = grid.Where(p => p <= maxLoss + 1e-9).ToArray();
        return new Chart("Frames lost against configured packet loss",
            Trace.Lines($"predicted: 1 − (1 − p)^{packetsPerFrame:0.#}", grid.Select(p => 100 * p), grid.Select(p => 100 * (1 - Math.Pow(1 - p, packetsPerFrame)))),
            Trace.Lines("packets lost = p (for reference)", grid.Select(p => 100 * p), grid.Select(p => 100 * p)),
            Trace.Markers("frames lost (measured)", points.Select(p => 100 * p.Configured), points.Select(p => 100.0 * p.Statistics.FramesLost / Math.Max(1, p.Statistics.FramesLost + p.Statistics.FramesComplete))),
            Trace.Markers("packets lost (measured)", points.Select(p => 100 * p.Configured), points.Select(p => 100 * p.Statistics.LossFraction)))
        {
            XTitle = "configured packet loss p (%)", YTitle = "lost (%)",
        };
    }

    /// <summary>The playout-buffer experiment: frozen frames fall and delay grows as the buffer deepens.</summary>
    public static Chart Playout(IReadOnlyList<PlayoutResult> results) =>
        new("Playout buffer: frozen frames against added delay",
            Trace.LinesAndMarkers("frozen frames (%)", results.Select(r => r.Delay.TotalMilliseconds), results.Select(r => 100 * r.FrozenFraction)))
        {
            XTitle = "playout delay = buffer depth × frame time (ms)", YTitle = "frame slots frozen (%)",
        };
}

using NetLabs.Charts;

namespace NetLabs.Ping;

/// <summary>The lab's charts, one call each, so a notebook cell stays one line.</summary>
public static class PingCharts
{
    /// <summary>How the RTTs of one or more runs are distributed (replies in time only).</summary>
    public static Chart Histogram(params PingRun[] runs) =>
        new("RTT distribution", runs.Select(r => Trace.Histogram(r.Name, r.RttsMs, bins: 60) with { Opacity = runs.Length > 1 ? 0.6 : null }))
        {
            XTitle = "RTT (ms)", YTitle = "replies", BarMode = runs.Length > 1 ? "overlay" : null,
        };

    /// <summary>Above this many replies, <see cref="RttBySequence"/> draws markers only: lines between 1000 points are a smear.</summary>
    public const int MaxJoinedReplies = 100;

    /// <summary>
    /// RTT of each ping in order; timeouts marked at the timeout line, late replies at their real RTT. Up to
    /// <see cref="MaxJoinedReplies"/> replies the points are joined by lines; more are drawn as markers only.
    /// </summary>
    public static Chart RttBySequence(PingRun run, TimeSpan? timeout = null)
    {
        var replies = run.Replies.Where(r => r.Outcome == PingOutcome.Reply).ToList();
        var timeouts = run.Replies.Where(r => r.Outcome == PingOutcome.Timeout).ToList();
        var late = run.Replies.Where(r => r.Outcome == PingOutcome.Late).ToList();
        var timeoutMs = (timeout ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
        var (x, y) = (replies.Select(r => (double)r.Sequence), replies.Select(r => r.RttMilliseconds!.Value));
        var traces = new List<Trace> { replies.Count > MaxJoinedReplies ? Trace.Markers("RTT", x, y) with { MarkerSize = 4 } : Trace.LinesAndMarkers("RTT", x, y) };
        if (timeouts.Count > 0) traces.Add(Trace.Markers("timed out (drawn at the timeout)", timeouts.Select(r => (double)r.Sequence), timeouts.Select(_ => timeoutMs)) with { Symbol = "x" });
        if (late.Count > 0) traces.Add(Trace.Markers("late reply", late.Select(r => (double)r.Sequence), late.Select(r => r.RttMilliseconds!.Value)) with { Symbol = "diamond" });
        return new Chart($"{run.Name}: RTT by sequence number", traces) { XTitle = "sequence number", YTitle = "RTT (ms)", XIntegers = true };
    }

    /// <summary>
    /// Cumulative distribution of RTT: the share of replies at or below each RTT, with dotted guides at 0.5 and 0.99
    /// (where a curve crosses them is its p50 and p99) when every run has enough replies for percentiles.
    /// </summary>
    public static Chart Cdf(params PingRun[] runs)
    {
        var traces = runs.Select(r =>
        {
            var sorted = r.RttsMs.Order().ToArray();
            return Trace.Lines(r.Name, sorted, sorted.Select((_, i) => (i + 1.0) / sorted.Length));
        }).ToList();
        var all = runs.SelectMany(r => r.RttsMs).ToArray();
        if (all.Length > 0 && runs.All(r => r.Statistics.P50 is not null))
        {
            var (from, to) = (all.Min(), all.Max());
            traces.Add(Trace.Lines("0.5: crossing = p50", [from, to], [0.5, 0.5]) with { Dash = "dot" });
            traces.Add(Trace.Lines("0.99: crossing = p99", [from, to], [0.99, 0.99]) with { Dash = "dot" });
        }
        return new Chart("RTT cumulative distribution", traces) { XTitle = "RTT (ms)", YTitle = "share of replies ≤ RTT" };
    }

    /// <summary>Box plots of RTT, one per run: compare settings at a glance.</summary>
    public static Chart Box(params PingRun[] runs) =>
        new("RTT by run", runs.Select(r => Trace.Box(r.Name, r.RttsMs))) { YTitle = "RTT (ms)" };

    /// <summary>
    /// Measured loss against configured loss, with the band where a measurement of <paramref name="pingsPerRun"/>
    /// pings lands about 95 % of the time if the server does what it is told.
    /// </summary>
    public static Chart LossVsConfigured(IReadOnlyList<(double Configured, PingRun Run)> points, int pingsPerRun)
    {
        // The band and the line cover the configured losses measured, no more: an axis to 100 % under data that stop
        // at 50 % would leave half the chart empty.
        var highest = points.Count == 0 ? 1 : points.Max(p => p.Configured);
        var grid = Enumerable.Range(0, 51).Select(i => highest * i / 50.0).ToArray();
        var bands = grid.Select(p => Binomial.NormalBand(p, pingsPerRun)).ToArray();
        var percent = grid.Select(p => 100 * p).ToArray();
        return new Chart("Measured against configured loss",
            Trace.Band($"95 % of runs of {pingsPerRun} pings land here", percent, bands.Select(b => 100 * b.Lower), bands.Select(b => 100 * b.Upper)),
            Trace.Lines("measured = configured", percent, percent) with { Dash = "dash" },
            Trace.Markers("measured", points.Select(p => 100 * p.Configured), points.Select(p => p.Run.Statistics.LossPercent)) with { MarkerSize = 9 })
        {
            XTitle = "configured loss (%)", YTitle = "measured loss (%)",
        };
    }

    /// <summary>
    /// Heartbeats over time, one row of markers per kind of event, sequence number on the y axis. A gap shows a marker
    /// per lost heartbeat, up to <see cref="MarkersPerGap"/> (a forged gap of billions stays one short column).
    /// </summary>
    public static Chart HeartbeatTimeline(IEnumerable<HeartbeatEvent> events)
    {
        var all = events.Where(e => e.Kind != HeartbeatEventKind.Invalid)
            .SelectMany(e => Enumerable.Range(0, (int)Math.Clamp(e.Count, 1, MarkersPerGap)).Select(i => (e.Kind, e.At, Sequence: e.Sequence + i)))
            .ToList();
        // "Started" is the first heartbeat, at the same time and sequence as its "Received" marker: drawn last, as a
        // larger ring, so it shows around the marker it would otherwise hide under.
        var traces = all.GroupBy(e => e.Kind).OrderBy(g => g.Key == HeartbeatEventKind.Started).ThenBy(g => g.Key)
            .Select(g => Trace.Markers(g.Key.ToString(), g.Select(e => e.At.TotalSeconds), g.Select(e => (double)e.Sequence))
                with { Symbol = g.Key == HeartbeatEventKind.Started ? "circle-open" : null, MarkerSize = g.Key == HeartbeatEventKind.Started ? 14 : null })
            .ToList();
        if (traces.Count == 0) traces.Add(Trace.Markers("no heartbeats", [], []));
        return new Chart("Heartbeat timeline", traces) { XTitle = "time since server start (s)", YTitle = "sequence number" };
    }

    /// <summary>The most markers <see cref="HeartbeatTimeline"/> draws for one gap.</summary>
    public const int MarkersPerGap = 100;

    /// <summary>One-way delay of each heartbeat received, by client.</summary>
    public static Chart HeartbeatDelays(IEnumerable<HeartbeatEvent> events) =>
        new("Heartbeat one-way delay", events.Where(e => e.Delay is not null && e.Kind is HeartbeatEventKind.Received or HeartbeatEventKind.Reordered)
            .GroupBy(e => e.Client.ToString())
            .Select(g => Trace.LinesAndMarkers(g.Key, g.Select(e => (double)e.Sequence), g.Select(e => e.Delay!.Value.TotalMilliseconds))).DefaultIfEmpty(Trace.Markers("none", [], [])))
        { XTitle = "sequence number", YTitle = "delay (ms)", XIntegers = true };
}

using NetLabs.Charts;

namespace NetLabs.Icmp;

/// <summary>
/// Lab 6's chart: every probe's RTT as a point over its hop, the median per hop as a line, unanswered probes marked. Hops
/// are whole numbers on the x axis. The RTT axis is logarithmic, so a first probe that took milliseconds and routers that
/// answer in tens of microseconds are all readable in one chart (on a linear axis the one outlier flattens every hop to 0).
/// </summary>
public static class TracerouteCharts
{
    public static Chart RttPerHop(TracerouteResult result)
    {
        var answered = result.Hops.SelectMany(h => h.Probes.Where(p => p.Rtt is not null).Select(p => (h.Ttl, Ms: p.RttMilliseconds!.Value))).ToList();
        var timeouts = result.Hops.SelectMany(h => h.Probes.Where(p => p.Rtt is null).Select(_ => h.Ttl)).ToList();
        var medians = result.Hops.Where(h => h.Probes.Any(p => p.Rtt is not null))
            .Select(h => (h.Ttl, Ms: Median(h.Probes.Where(p => p.Rtt is not null).Select(p => p.RttMilliseconds!.Value)))).ToList();
        // A log axis cannot show 0: the system ping's whole milliseconds can be 0 on a fast path, and then the axis stays linear.
        var log = answered.Count > 0 && answered.All(a => a.Ms > 0);
        var traces = new List<Trace>
        {
            Trace.Markers("probe RTT", answered.Select(a => (double)a.Ttl), answered.Select(a => a.Ms)),
            Trace.Lines("median per hop", medians.Select(m => (double)m.Ttl), medians.Select(m => m.Ms)),
        };
        // A "*" has no RTT: it is drawn under every answer so the student sees which hop stayed silent.
        var silentAt = log ? answered.Min(a => a.Ms) / 2 : 0.0;
        if (timeouts.Count > 0)
            traces.Add(Trace.Markers(log ? "no answer (*), drawn under the answers" : "no answer (*), drawn at 0", timeouts.Select(t => (double)t), timeouts.Select(_ => silentAt))
                with { Symbol = "x" });
        return new Chart($"traceroute to {result.Destination}: RTT per hop", traces)
        {
            XTitle = "hop (TTL)", YTitle = log ? "RTT (ms, log scale)" : "RTT (ms)", XIntegers = true, YLog = log,
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

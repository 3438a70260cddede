using NetLabs.Charts;

namespace NetLabs.Icmp;

/// <summary>Lab 6's chart: every probe's RTT as a point over its hop, the median per hop as a line, unanswered probes marked.</summary>
public static class TracerouteCharts
{
    public static Chart RttPerHop(TracerouteResult result)
    {
        var answered = result.Hops.SelectMany(h => h.Probes.Where(p => p.Rtt is not null).Select(p => (h.Ttl, Ms: p.RttMilliseconds!.Value))).ToList();
        var timeouts = result.Hops.SelectMany(h => h.Probes.Where(p => p.Rtt is null).Select(_ => h.Ttl)).ToList();
        var medians = result.Hops.Where(h => h.Probes.Any(p => p.Rtt is not null))
            .Select(h => (h.Ttl, Ms: Median(h.Probes.Where(p => p.Rtt is not null).Select(p => p.RttMilliseconds!.Value)))).ToList();
        var traces = new List<Trace>
        {
            Trace.Markers("probe RTT", answered.Select(a => (double)a.Ttl), answered.Select(a => a.Ms)),
            Trace.Lines("median per hop", medians.Select(m => (double)m.Ttl), medians.Select(m => m.Ms)),
        };
        // A "*" has no RTT: it is drawn at 0 so the student sees which hop stayed silent.
        if (timeouts.Count > 0) traces.Add(Trace.Markers("no answer (*), drawn at 0", timeouts.Select(t => (double)t), timeouts.Select(_ => 0.0)));
        return new Chart($"traceroute to {result.Destination}: RTT per hop", traces) { XTitle = "hop (TTL)", YTitle = "RTT (ms)", XIntegers = true };
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Ping;

/// <summary>
/// The summary <c>ping</c> prints, and more. RTT figures are in milliseconds and null when no reply came back.
/// Only replies in time count as received; late and duplicate replies are counted on their own.
/// </summary>
public sealed record PingStatistics : IHtmlDisplay
{
    public int Sent { get; init; }
    public int Received { get; init; }
    public int Lost => Sent - Received;
    public int Late { get; init; }
    public int Duplicates { get; init; }
    public int Unexpected { get; init; }
    /// <summary>Lost / sent, 0 to 1 (0 when nothing was sent).</summary>
    public double LossRate => Sent == 0 ? 0 : (double)Lost / Sent;
    public double LossPercent => 100 * LossRate;
    public double? Min { get; init; }
    public double? Avg { get; init; }
    public double? Max { get; init; }
    /// <summary>Mean deviation as <c>ping</c> computes it: sqrt(mean(rtt²) − mean(rtt)²), the population standard deviation.</summary>
    public double? Mdev { get; init; }
    /// <summary>
    /// Percentiles need replies to stand on: below this many, p99 would just be the largest RTT and p90 one of the two
    /// largest, so they are left out (null, shown as "–") rather than printed with a precision they do not have.
    /// </summary>
    public const int MinRepliesForPercentiles = 20;

    /// <summary>Null below <see cref="MinRepliesForPercentiles"/> replies.</summary>
    public double? P50 { get; init; }
    public double? P90 { get; init; }
    public double? P99 { get; init; }

    public static PingStatistics From(IEnumerable<PingReply> replies)
    {
        var all = replies.ToList();
        var rtts = all.Where(r => r.Outcome == PingOutcome.Reply && r.Rtt is not null).Select(r => r.Rtt!.Value.TotalMilliseconds).Order().ToArray();
        var statistics = new PingStatistics
        {
            Sent = all.Count(r => r.IsPingResult),
            Received = rtts.Length,
            Late = all.Count(r => r.Outcome == PingOutcome.Late),
            Duplicates = all.Count(r => r.Outcome == PingOutcome.Duplicate),
            Unexpected = all.Count(r => r.Outcome == PingOutcome.Unexpected),
        };
        if (rtts.Length == 0) return statistics;
        var mean = rtts.Average();
        var meanOfSquares = rtts.Average(x => x * x);
        var measured = statistics with
        {
            Min = rtts[0],
            Max = rtts[^1],
            Avg = mean,
            Mdev = Math.Sqrt(Math.Max(0, meanOfSquares - mean * mean)),
        };
        return rtts.Length < MinRepliesForPercentiles ? measured : measured with
        {
            P50 = Percentile(rtts, 50),
            P90 = Percentile(rtts, 90),
            P99 = Percentile(rtts, 99),
        };
    }

    /// <summary>
    /// The <paramref name="percent"/>-th percentile of sorted values, interpolating linearly between the two nearest
    /// ranks (what numpy and Excel's PERCENTILE.INC do): rank = p/100 · (n − 1).
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0) throw new ArgumentException("No values.", nameof(sorted));
        if (percent is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(percent), percent, "A percentile is 0–100.");
        var rank = percent / 100 * (sorted.Count - 1);
        var below = (int)Math.Floor(rank);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>The Wilson interval for the true loss probability, given this run's losses (z = 1.96: 95 %).</summary>
    public (double Lower, double Upper) LossInterval(double z = 1.96) => Binomial.WilsonInterval(Lost, Sent, z);

    private static string Ms(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "–";

    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{Sent} packets transmitted, {Received} received, {LossPercent:0.#}% packet loss, {Late} late, {Duplicates} duplicates");
        return Received == 0 ? text
            : text + $"\nrtt min/avg/max/mdev = {Ms(Min)}/{Ms(Avg)}/{Ms(Max)}/{Ms(Mdev)} ms"
              + (P50 is null ? "" : $", p50/p90/p99 = {Ms(P50)}/{Ms(P90)}/{Ms(P99)} ms");
    }

    public HtmlTable ToTable(string caption = "Ping statistics") => new(caption,
        ["sent", "received", "loss %", "late", "dup", "min", "avg", "max", "mdev", "p50", "p90", "p99"],
        [[.. Row()]]);

    internal IEnumerable<string> Row() =>
    [
        Sent.ToString(CultureInfo.InvariantCulture), Received.ToString(CultureInfo.InvariantCulture),
        LossPercent.ToString("0.#", CultureInfo.InvariantCulture), Late.ToString(CultureInfo.InvariantCulture),
        Duplicates.ToString(CultureInfo.InvariantCulture), Ms(Min), Ms(Avg), Ms(Max), Ms(Mdev), Ms(P50), Ms(P90), Ms(P99),
    ];

    public string ToHtml() => ToTable("Ping statistics (RTT in ms)").ToHtml();
}

/// <summary>Confidence intervals for a proportion (loss rate) measured from n trials.</summary>
public static class Binomial
{
    /// <summary>
    /// Where the measured rate of n trials falls, about 95 % of the time (z = 1.96), when the true probability is p:
    /// p ± z·sqrt(p(1 − p)/n), clipped to [0, 1].
    /// </summary>
    public static (double Lower, double Upper) NormalBand(double p, int n, double z = 1.96)
    {
        if (n <= 0) return (0, 1);
        var half = z * Math.Sqrt(p * (1 - p) / n);
        return (Math.Max(0, p - half), Math.Min(1, p + half));
    }

    /// <summary>The Wilson score interval for the true probability after <paramref name="successes"/> out of <paramref name="n"/>.</summary>
    public static (double Lower, double Upper) WilsonInterval(int successes, int n, double z = 1.96)
    {
        if (n <= 0) return (0, 1);
        var p = (double)successes / n;
        var z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}

using System.Globalization;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Ping;

/// <summary>A named run of pings (e.g. "jitter 5 ms") with its outcomes in order and its statistics.</summary>
public sealed class PingRun(string name, IReadOnlyList<PingReply> replies) : IHtmlDisplay
{
    public string Name { get; } = name;
    public IReadOnlyList<PingReply> Replies { get; } = replies;
    public PingStatistics Statistics { get; } = PingStatistics.From(replies);

    /// <summary>RTTs in milliseconds of the replies that came in time.</summary>
    public IEnumerable<double> RttsMs => Replies.Where(r => r.Outcome == PingOutcome.Reply).Select(r => r.RttMilliseconds!.Value);

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var reply in Replies) text.AppendLine(reply.ToString());
        return text.Append($"--- {Name} ---\n").Append(Statistics).ToString();
    }

    public string ToHtml()
    {
        var table = new HtmlTable($"{Name}: {Replies.Count} outcomes", ["seq", "outcome", "RTT (ms)", "reply"],
            Replies.Take(50).Select(r => (IReadOnlyList<string>)
            [
                r.Sequence.ToString(CultureInfo.InvariantCulture), r.Outcome.ToString(),
                r.RttMilliseconds?.ToString("F3", CultureInfo.InvariantCulture) ?? "", r.Text ?? "",
            ]));
        var more = Replies.Count > 50 ? $"<p>… {Replies.Count - 50} more</p>" : "";
        return table.ToHtml() + more + Statistics.ToTable($"{Name}: statistics (RTT in ms)").ToHtml();
    }

    /// <summary>Several runs side by side, one row of statistics each.</summary>
    public static HtmlTable Compare(IEnumerable<PingRun> runs) => new("Ping runs compared (RTT in ms)",
        ["run", "sent", "received", "loss %", "late", "dup", "min", "avg", "max", "mdev", "p50", "p90", "p99"],
        runs.Select(r => (IReadOnlyList<string>)[r.Name, .. r.Statistics.Row()]));
}

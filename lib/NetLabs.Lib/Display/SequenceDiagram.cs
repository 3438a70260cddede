using System.Globalization;
using System.Net;
using System.Text;

namespace NetLabs.Display;

/// <summary>How a step of a <see cref="SequenceDiagram"/> is drawn.</summary>
public enum SequenceStepKind
{
    /// <summary>A solid arrow: a request, a command, a segment sent.</summary>
    Message,
    /// <summary>A dashed arrow: the answer to a message.</summary>
    Reply,
    /// <summary>A box across every lifeline: something that is not a message (TLS starts, a timeout, …).</summary>
    Note,
}

/// <summary>One row of a sequence diagram; <see cref="From"/> and <see cref="To"/> are participant names (unused by notes).</summary>
public sealed record SequenceStep(SequenceStepKind Kind, string From, string To, string Label)
{
    public static SequenceStep Message(string from, string to, string label) => new(SequenceStepKind.Message, from, to, label);
    public static SequenceStep Reply(string from, string to, string label) => new(SequenceStepKind.Reply, from, to, label);
    public static SequenceStep Note(string text) => new(SequenceStepKind.Note, "", "", text);

    public override string ToString() => Kind switch
    {
        SequenceStepKind.Note => $"  [{Label}]",
        SequenceStepKind.Reply => $"{From} --> {To}: {Label}",
        _ => $"{From} -> {To}: {Label}",
    };
}

/// <summary>
/// A sequence diagram drawn as inline SVG: participants side by side, one lifeline each, arrows with labels, time
/// downwards. No script and no web font, so it shows the same in VS Code, Jupyter, a browser and an exported page,
/// without internet (an SMTP dialogue, a TCP handshake, packets between hosts).
/// </summary>
public sealed class SequenceDiagram : IHtmlDisplay
{
    /// <summary>Labels longer than this are cut with "…": a diagram is for the shape of a dialogue, the transcript has every byte.</summary>
    public const int MaxLabelLength = 72;

    // Geometry in px. Monospace text at 12 px is about 7.2 px a character; that sets the gap between lifelines.
    private const double CharWidth = 7.2, Margin = 16, HeaderHeight = 30, RowHeight = 26, MinGap = 160, ArrowHead = 7;

    public SequenceDiagram(string title, IEnumerable<string> participants, IEnumerable<SequenceStep> steps)
    {
        Title = title;
        Participants = participants.ToList();
        if (Participants.Count == 0) throw new ArgumentException("A sequence diagram needs at least one participant.", nameof(participants));
        if (Participants.Distinct(StringComparer.Ordinal).Count() != Participants.Count)
            throw new ArgumentException("Participant names must differ.", nameof(participants));
        Steps = steps.ToList();
        foreach (var step in Steps.Where(s => s.Kind != SequenceStepKind.Note))
            foreach (var name in new[] { step.From, step.To }.Where(n => !Participants.Contains(n)))
                throw new ArgumentException($"Step \"{step}\" names '{name}', which is not a participant ({string.Join(", ", Participants)}).", nameof(steps));
    }

    public string Title { get; }
    public IReadOnlyList<string> Participants { get; }
    public IReadOnlyList<SequenceStep> Steps { get; }

    /// <summary>The diagram as a standalone &lt;svg&gt; element.</summary>
    public string ToSvg()
    {
        var longestLabel = Steps.Where(s => s.Kind != SequenceStepKind.Note).Select(s => Shorten(s.Label).Length).DefaultIfEmpty(0).Max();
        var longestName = Participants.Max(p => p.Length);
        var gap = Math.Max(MinGap, Math.Max(longestLabel, longestName) * CharWidth + 2 * Margin);
        var boxWidth = Math.Min(gap - Margin, longestName * CharWidth + 2 * Margin);
        var left = Margin + boxWidth / 2;
        var x = Participants.Select((_, i) => left + i * gap).ToArray();
        var width = x[^1] + boxWidth / 2 + Margin;
        if (Participants.Count == 1) width = Math.Max(width, Math.Max(longestLabel, 20) * CharWidth + 2 * Margin + left);
        var top = Margin + HeaderHeight;
        var height = top + (Steps.Count + 1) * RowHeight + Margin;

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"netlabs-sequence\" width=\"{width:0}\" height=\"{height:0}\" viewBox=\"0 0 {width:0} {height:0}\" font-family=\"monospace\" font-size=\"12\" role=\"img\">"));
        svg.Append("<title>").Append(Encode(Title)).Append("</title>");
        for (var i = 0; i < Participants.Count; i++)
        {
            svg.Append(Invariant($"<line class=\"lifeline\" x1=\"{x[i]:0.#}\" y1=\"{top:0.#}\" x2=\"{x[i]:0.#}\" y2=\"{height - Margin:0.#}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>"));
            svg.Append(Invariant($"<rect x=\"{x[i] - boxWidth / 2:0.#}\" y=\"{Margin:0.#}\" width=\"{boxWidth:0.#}\" height=\"{HeaderHeight - 6:0.#}\" rx=\"4\" fill=\"#eef2fb\" stroke=\"#6a7fdb\"/>"));
            svg.Append(Invariant($"<text x=\"{x[i]:0.#}\" y=\"{Margin + 16:0.#}\" text-anchor=\"middle\" font-weight=\"bold\">")).Append(Encode(Participants[i])).Append("</text>");
        }
        for (var row = 0; row < Steps.Count; row++)
        {
            var step = Steps[row];
            var y = top + (row + 1) * RowHeight;
            var label = Encode(Shorten(step.Label));
            if (step.Kind == SequenceStepKind.Note)
            {
                svg.Append(Invariant($"<rect class=\"note\" x=\"{x[0] - boxWidth / 2:0.#}\" y=\"{y - 15:0.#}\" width=\"{x[^1] - x[0] + boxWidth:0.#}\" height=\"20\" fill=\"#fff8dc\" stroke=\"#c9b458\"/>"));
                svg.Append(Invariant($"<text x=\"{(x[0] + x[^1]) / 2:0.#}\" y=\"{y - 1:0.#}\" text-anchor=\"middle\" fill=\"#555\">")).Append(label).Append("</text>");
                continue;
            }
            var reply = step.Kind == SequenceStepKind.Reply;
            var color = reply ? "#1a7f37" : "#1f5fbf";
            var dash = reply ? " stroke-dasharray=\"6 4\"" : "";
            double from = x[IndexOf(step.From)], to = x[IndexOf(step.To)];
            if (from == to)
            {
                // A participant talking to itself: a small loop to the right.
                svg.Append(Invariant($"<path class=\"arrow\" d=\"M{from:0.#},{y - 8:0.#} h30 v12 h-{30 - ArrowHead:0.#}\" fill=\"none\" stroke=\"{color}\"{dash}/>"));
                svg.Append(ArrowHeadAt(from, y + 4, -1, color));
                svg.Append(Invariant($"<text x=\"{from + 36:0.#}\" y=\"{y:0.#}\" fill=\"{color}\">")).Append(label).Append("</text>");
                continue;
            }
            var direction = Math.Sign(to - from);
            svg.Append(Invariant($"<line class=\"arrow\" x1=\"{from:0.#}\" y1=\"{y:0.#}\" x2=\"{to - direction * ArrowHead:0.#}\" y2=\"{y:0.#}\" stroke=\"{color}\" stroke-width=\"1.4\"{dash}/>"));
            svg.Append(ArrowHeadAt(to, y, direction, color));
            svg.Append(Invariant($"<text x=\"{(from + to) / 2:0.#}\" y=\"{y - 5:0.#}\" text-anchor=\"middle\" fill=\"{color}\">")).Append(label).Append("</text>");
        }
        return svg.Append("</svg>").ToString();
    }

    public string ToHtml() =>
        $"<div class=\"netlabs-sequence-diagram\" style=\"overflow-x:auto\"><div style=\"font-weight:bold;font-family:monospace\">{Encode(Title)}</div>{ToSvg()}</div>";

    /// <summary>One line per step, like the notation of textbooks: "Client -> Server: EHLO".</summary>
    public override string ToString() =>
        new StringBuilder(Title).AppendLine().AppendJoin(Environment.NewLine, Steps.Select(s => s.ToString())).ToString();

    /// <summary>A filled triangle whose tip is at (x, y), pointing right (+1) or left (−1).</summary>
    private static string ArrowHeadAt(double x, double y, int direction, string color)
    {
        var back = x - direction * ArrowHead;
        return Invariant($"<polygon class=\"head\" points=\"{x:0.#},{y:0.#} {back:0.#},{y - 4:0.#} {back:0.#},{y + 4:0.#}\" fill=\"{color}\"/>");
    }

    private int IndexOf(string participant)
    {
        for (var i = 0; i < Participants.Count; i++)
            if (Participants[i] == participant) return i;
        throw new ArgumentException($"'{participant}' is not a participant.", nameof(participant));
    }

    private static string Shorten(string label) => label.Length <= MaxLabelLength ? label : label[..(MaxLabelLength - 1)] + "…";

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>
/// Who sent a transcript line: the client ("C:"), the server ("S:"), the client again for a line of the message
/// after DATA (<see cref="Data"/>, "C:" too, as it travels: dot-stuffed), or a note about the connection ("*").
/// </summary>
public enum SmtpParty { Client, Server, Note, Data }

/// <summary>One line of an SMTP dialogue.</summary>
public sealed record SmtpTranscriptEntry(SmtpParty Party, string Text, TimeSpan Elapsed)
{
    /// <summary>
    /// How the line ended on the wire: "\r\n" for every line our client and server write; a recorded stream
    /// (<see cref="SmtpWireTap"/>) keeps what was really sent, so a bare "\n" shows. Empty for notes.
    /// </summary>
    public string LineEnd { get; init; } = "\r\n";

    public string Prefix => Party switch { SmtpParty.Client or SmtpParty.Data => "C:", SmtpParty.Server => "S:", _ => "*" };

    /// <summary>Why a line is worth a second look: a dot-stuffed line, the end of the data, a line end that is not CRLF.</summary>
    public string? Remark => Party == SmtpParty.Note ? null
        : LineEnd is not ("\r\n" or "") ? "not CRLF: SMTP lines end with \\r\\n"
        : Party != SmtpParty.Data ? null
        : Text == "." ? "a lone \".\": the end of the message"
        : Text.StartsWith("..", StringComparison.Ordinal) ? "dot-stuffed: the message line starts with \".\", one more is sent in front"
        : null;

    /// <summary>The line end as it reads: "\r\n" as the four characters \ r \ n.</summary>
    public string VisibleLineEnd => LineEnd.Replace("\r", "\\r").Replace("\n", "\\n");

    public override string ToString() => $"{Prefix} {Text}";
}

/// <summary>
/// The dialogue as "C:" / "S:" lines, the way RFC 5321 writes its examples. Credentials never get here: the
/// client records AUTH arguments as "***". Shown in notebooks as coloured lines; <see cref="ToSequenceDiagram"/> draws it.
/// Thread-safe, so a server session and a test can read it while the dialogue goes on.
/// </summary>
public sealed class SmtpTranscript : IHtmlDisplay
{
    private readonly List<SmtpTranscriptEntry> _entries = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private long _dropped;

    public string Title { get; init; } = "SMTP transcript";

    /// <summary>
    /// Lines kept at most (the first ones; later lines are only counted in <see cref="DroppedLines"/>), so that a
    /// session that never ends (NOOP forever) cannot grow its transcript without bound. 0 = no limit.
    /// </summary>
    public int MaxLines { get; init; }

    /// <summary>Lines not kept because <see cref="MaxLines"/> was reached.</summary>
    public long DroppedLines => Interlocked.Read(ref _dropped);

    public IReadOnlyList<SmtpTranscriptEntry> Entries { get { lock (_entries) return _entries.ToArray(); } }

    public void Add(SmtpParty party, string text) => Add(party, text, party == SmtpParty.Note ? "" : "\r\n");

    /// <summary>Adds a line that ended with <paramref name="lineEnd"/> on the wire ("" for a line cut short).</summary>
    public void Add(SmtpParty party, string text, string lineEnd)
    {
        lock (_entries)
        {
            if (MaxLines > 0 && _entries.Count >= MaxLines)
            {
                if (Interlocked.Increment(ref _dropped) == 1)
                    _entries[^1] = new(SmtpParty.Note, $"transcript full ({MaxLines} lines): further lines are counted, not kept", _clock.Elapsed);
                return;
            }
            _entries.Add(new(party, text, _clock.Elapsed) { LineEnd = lineEnd });
        }
    }

    public void Client(string text) => Add(SmtpParty.Client, text);
    public void Server(SmtpReply reply)
    {
        for (var i = 0; i < reply.Lines.Count; i++)
            Add(SmtpParty.Server, $"{reply.Code}{(i == reply.Lines.Count - 1 ? ' ' : '-')}{reply.Lines[i]}");
    }
    public void Note(string text) => Add(SmtpParty.Note, text);

    /// <summary>
    /// Reads a MailKit <c>ProtocolLogger</c> log ("C: …" / "S: …" lines, anything else a note), so the two clients
    /// can be compared line by line.
    /// </summary>
    public static SmtpTranscript FromProtocolLog(string log, string title = "MailKit protocol log")
    {
        var transcript = new SmtpTranscript { Title = title };
        foreach (var raw in log.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (line.StartsWith("C: ", StringComparison.Ordinal)) transcript.Client(line[3..]);
            else if (line.StartsWith("S: ", StringComparison.Ordinal)) transcript.Add(SmtpParty.Server, line[3..]);
            else transcript.Note(line);
        }
        return transcript;
    }

    /// <summary>
    /// The dialogue as a sequence diagram: commands as arrows to the server, reply lines as dashed arrows back, notes
    /// across. The message lines after DATA are one arrow (the transcript shows them one by one), then the lone dot.
    /// </summary>
    public SequenceDiagram ToSequenceDiagram(string client = "Client", string server = "Server")
    {
        var steps = new List<SequenceStep>();
        var entries = Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Party == SmtpParty.Data)
            {
                var lines = 0;
                while (i < entries.Count && entries[i].Party == SmtpParty.Data && entries[i].Text != ".") { lines++; i++; }
                steps.Add(SequenceStep.Message(client, server, $"[the message: {lines} lines, dot-stuffed]"));
                if (i < entries.Count && entries[i].Party == SmtpParty.Data) steps.Add(SequenceStep.Message(client, server, "."));
                else i--;
                continue;
            }
            steps.Add(entry.Party switch
            {
                SmtpParty.Client => SequenceStep.Message(client, server, entry.Text),
                SmtpParty.Server => SequenceStep.Reply(server, client, entry.Text),
                _ => SequenceStep.Note(entry.Text),
            });
        }
        return new SequenceDiagram(Title, [client, server], steps);
    }

    /// <summary>Two transcripts next to each other (ours and MailKit's), as an HTML table.</summary>
    public static HtmlTable SideBySide(SmtpTranscript left, SmtpTranscript right)
    {
        var a = left.Entries.Where(e => e.Party != SmtpParty.Note).ToArray();
        var b = right.Entries.Where(e => e.Party != SmtpParty.Note).ToArray();
        var rows = Enumerable.Range(0, Math.Max(a.Length, b.Length))
            .Select(i => (IReadOnlyList<string>)[i < a.Length ? a[i].ToString() : "", i < b.Length ? b[i].ToString() : ""]);
        return new HtmlTable($"{left.Title} vs {right.Title}", [left.Title, right.Title], rows);
    }

    public string ToHtml()
    {
        var html = new StringBuilder("<div class=\"netlabs-smtp\" style=\"font-family:monospace\"><b>")
            .Append(WebUtility.HtmlEncode(Title)).Append("</b><pre style=\"margin:4px 0\">");
        // Every line with its line end made visible (grey \r\n), message lines after DATA in their own colour, and a
        // remark where the wire differs from the text: a dot-stuffed line, the lone ".", a line end that is not CRLF.
        foreach (var entry in Entries)
        {
            var color = entry.Party switch { SmtpParty.Client => "#1f5fbf", SmtpParty.Server => "#1a7f37", SmtpParty.Data => "#6f42c1", _ => "#888" };
            html.Append("<span style=\"color:").Append(color).Append("\">")
                .Append(WebUtility.HtmlEncode(entry.ToString())).Append("</span>");
            if (entry.LineEnd.Length > 0)
                html.Append("<span style=\"color:").Append(entry.Remark is not null && entry.LineEnd != "\r\n" ? "#b3261e" : "#aaa").Append("\">")
                    .Append(WebUtility.HtmlEncode(entry.VisibleLineEnd)).Append("</span>");
            if (entry.Remark is { } remark)
                html.Append("  <span style=\"color:#b06000\">← ").Append(WebUtility.HtmlEncode(remark)).Append("</span>");
            html.Append('\n');
        }
        return html.Append("</pre></div>").ToString();
    }

    public override string ToString() => string.Join("\n", Entries.Select(e => e.ToString()));
}

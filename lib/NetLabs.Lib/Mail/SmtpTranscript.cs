using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>Who sent a transcript line: the client ("C:"), the server ("S:") or a note about the connection ("*").</summary>
public enum SmtpParty { Client, Server, Note }

/// <summary>One line of an SMTP dialogue.</summary>
public sealed record SmtpTranscriptEntry(SmtpParty Party, string Text, TimeSpan Elapsed)
{
    public string Prefix => Party switch { SmtpParty.Client => "C:", SmtpParty.Server => "S:", _ => "*" };
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

    public void Add(SmtpParty party, string text)
    {
        lock (_entries)
        {
            if (MaxLines > 0 && _entries.Count >= MaxLines)
            {
                if (Interlocked.Increment(ref _dropped) == 1)
                    _entries[^1] = new(SmtpParty.Note, $"transcript full ({MaxLines} lines): further lines are counted, not kept", _clock.Elapsed);
                return;
            }
            _entries.Add(new(party, text, _clock.Elapsed));
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

    /// <summary>The dialogue as a sequence diagram: commands as arrows to the server, reply lines as dashed arrows back, notes across.</summary>
    public SequenceDiagram ToSequenceDiagram(string client = "Client", string server = "Server") =>
        new(Title, [client, server], Entries.Select(entry => entry.Party switch
        {
            SmtpParty.Client => SequenceStep.Message(client, server, entry.Text),
            SmtpParty.Server => SequenceStep.Reply(server, client, entry.Text),
            _ => SequenceStep.Note(entry.Text),
        }));

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
        foreach (var entry in Entries)
        {
            var color = entry.Party switch { SmtpParty.Client => "#1f5fbf", SmtpParty.Server => "#1a7f37", _ => "#888" };
            html.Append("<span style=\"color:").Append(color).Append("\">")
                .Append(WebUtility.HtmlEncode(entry.ToString())).Append("</span>\n");
        }
        return html.Append("</pre></div>").ToString();
    }

    public override string ToString() => string.Join("\n", Entries.Select(e => e.ToString()));
}

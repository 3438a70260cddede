using System.Globalization;
using System.Net;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Capture;

/// <summary>
/// What a capture saw: the packets as rows, the connections they make up, and the frames for a .pcapng file. When
/// capture was not possible, <see cref="Failure"/> says why and how to fix it, and the displays show that card.
/// </summary>
public sealed class CaptureResult : IHtmlDisplay
{
    /// <summary>Rows shown by <see cref="ToHtml()"/>: a notebook shows the start of the story and counts the rest.</summary>
    public const int DefaultRows = 30;

    internal CaptureResult(string device, string filter, IReadOnlyList<CapturedPacket> decoded, int notKept, CaptureFailure? failure, int snapshotLength)
    {
        Device = device;
        Filter = filter;
        Failure = failure;
        NotKept = notKept;
        SnapshotLength = snapshotLength;
        (Packets, Connections) = CaptureAnalysis.Analyze(decoded);
    }

    /// <summary>A result with no packets, carrying why capture was not possible.</summary>
    public static CaptureResult Failed(CaptureFailure failure, string device = "", string filter = "") => new(device, filter, [], 0, failure, 0);

    public string Device { get; }
    /// <summary>The BPF expression used ("" = everything on the device).</summary>
    public string Filter { get; }
    /// <summary>Null when the capture ran.</summary>
    public CaptureFailure? Failure { get; }
    public bool Succeeded => Failure is null;
    public IReadOnlyList<CapturedPacket> Packets { get; }
    /// <summary>Frames seen after <see cref="CaptureOptions.MaxPackets"/> (or the byte limit) was reached: counted, not kept.</summary>
    public int NotKept { get; }
    public IReadOnlyList<PacketConversation> Connections { get; }
    internal int SnapshotLength { get; }

    /// <summary>The packet table: the first <paramref name="maxRows"/> rows and a count of the rest.</summary>
    public HtmlTable ToTable(int maxRows = DefaultRows, Func<CapturedPacket, bool>? where = null)
    {
        var chosen = where is null ? Packets : Packets.Where(where).ToList();
        var rows = chosen.Take(maxRows).Select(p => (IReadOnlyList<string>)
        [
            p.Number.ToString(CultureInfo.InvariantCulture),
            p.Time.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture),
            CapturedPacket.Endpoint(p.Source, p.SourcePort),
            CapturedPacket.Endpoint(p.Destination, p.DestinationPort),
            p.What,
            p.Sequence?.ToString(CultureInfo.InvariantCulture) ?? "",
            p.Acknowledgment?.ToString(CultureInfo.InvariantCulture) ?? "",
            p.Protocol == PacketProtocol.Tcp ? p.Window.ToString(CultureInfo.InvariantCulture) : "",
            p.PayloadLength.ToString(CultureInfo.InvariantCulture),
            p.Protocol == PacketProtocol.Icmp ? p.Ttl.ToString(CultureInfo.InvariantCulture) : "",
            p.Note.Length > 0 ? $"{p.Data} [{p.Note}]".Trim() : p.Data,
        ]).ToList();
        var shown = rows.Count < chosen.Count ? $"first {rows.Count} of {chosen.Count} packets" : $"{chosen.Count} packets";
        var caption = $"Captured on {Device}{(Filter.Length > 0 ? $" ({Filter})" : "")}: {shown}{(NotKept > 0 ? $", {NotKept} more not kept" : "")}";
        return new HtmlTable(caption, ["#", "time (ms)", "from", "to", "what", "seq", "ack", "win", "len", "ttl", "data"], rows);
    }

    /// <summary>
    /// When the packets <paramref name="where"/> selects left, and the time since the previous one: the rhythm of a stream
    /// (RTP frames as bursts of datagrams, one burst per frame interval).
    /// </summary>
    public HtmlTable ToTimingTable(Func<CapturedPacket, bool> where, int maxRows = DefaultRows)
    {
        var chosen = Packets.Where(where).ToList();
        var rows = chosen.Take(maxRows).Select((p, i) => (IReadOnlyList<string>)
        [
            p.Number.ToString(CultureInfo.InvariantCulture),
            p.Time.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture),
            i == 0 ? "" : (p.Time - chosen[i - 1].Time).TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture),
            $"{p.What} {CapturedPacket.Endpoint(p.Source, p.SourcePort)} → {CapturedPacket.Endpoint(p.Destination, p.DestinationPort)}",
            p.PayloadLength.ToString(CultureInfo.InvariantCulture),
        ]).ToList();
        return new HtmlTable(rows.Count < chosen.Count ? $"Timing: first {rows.Count} of {chosen.Count} packets" : $"Timing: {chosen.Count} packets",
            ["#", "time (ms)", "since previous (ms)", "packet", "len"], rows);
    }

    /// <summary>One row per connection: handshake time, bytes each way, retransmissions and gaps from sequence continuity.</summary>
    public HtmlTable ToConnectionsTable(string caption = "Connections") => new(caption,
        ["protocol", "client", "server", "packets", "handshake (ms)", "bytes →", "bytes ←", "retransmissions", "gaps", "closed", "duration (ms)"],
        Connections.Select(c => (IReadOnlyList<string>)
        [
            c.Protocol.ToString().ToUpperInvariant(), c.Client.ToString(), c.Server.ToString(), c.Packets.ToString(CultureInfo.InvariantCulture),
            c.Protocol != PacketProtocol.Tcp ? "" : c.Handshake is { } h ? h.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) : "not captured",
            c.BytesToServer.ToString(CultureInfo.InvariantCulture), c.BytesToClient.ToString(CultureInfo.InvariantCulture),
            c.Protocol != PacketProtocol.Tcp ? "" : c.Retransmissions.ToString(CultureInfo.InvariantCulture),
            c.Protocol != PacketProtocol.Tcp ? "" : c.Gaps == 0 ? "0" : $"{c.Gaps} ({c.MissingBytes} bytes)",
            c.Closed, c.Duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
        ]));

    /// <summary>
    /// The packets as a time-sequence diagram: one lifeline per endpoint (named "client :54321", "server :6789", or as
    /// <paramref name="names"/> says by port), an arrow per packet with its flags and bytes, time downwards.
    /// </summary>
    public IHtmlDisplay ToSequenceDiagram(int maxPackets = 40, IEnumerable<(int Port, string Name)>? names = null, Func<CapturedPacket, bool>? where = null)
    {
        if (Failure is not null) return Failure;
        var named = (names ?? []).ToDictionary(n => n.Port, n => n.Name);
        var chosen = (where is null ? Packets : Packets.Where(where)).Where(p => p.Protocol != PacketProtocol.Other).ToList();
        var participants = new List<string>();
        string Name(IPAddress address, int port, bool server)
        {
            var name = named.TryGetValue(port, out var given) ? given
                : port == 0 ? address.ToString()
                : $"{(server ? "server" : "client")} :{port}";
            if (!participants.Contains(name)) participants.Add(name);
            return name;
        }
        var steps = new List<SequenceStep>();
        foreach (var p in chosen.Take(maxPackets))
        {
            var clientSide = p.Protocol == PacketProtocol.Icmp || p.FromClient;
            var from = Name(p.Source, p.SourcePort, server: !clientSide);
            var to = Name(p.Destination, p.DestinationPort, server: clientSide);
            var label = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{p.Time.TotalMilliseconds:0.0} ms ");
            label.Append(p.Protocol switch { PacketProtocol.Tcp => p.FlagNames, PacketProtocol.Udp => "UDP", _ => p.IcmpMessage });
            if (p.Protocol == PacketProtocol.Tcp) label.Append(CultureInfo.InvariantCulture, $" seq={p.Sequence}");
            if (p.PayloadLength > 0) label.Append(CultureInfo.InvariantCulture, $" {p.PayloadLength} B");
            if (p.Protocol == PacketProtocol.Icmp) label.Append(CultureInfo.InvariantCulture, $" ttl={p.Ttl}");
            if (p.Data.Length > 0 && p.Protocol != PacketProtocol.Icmp) label.Append(' ').Append(p.Data);
            if (p.Note.Length > 0) label.Append(" [").Append(p.Note).Append(']');
            steps.Add(clientSide ? SequenceStep.Message(from, to, label.ToString()) : SequenceStep.Reply(from, to, label.ToString()));
        }
        if (chosen.Count > maxPackets) steps.Add(SequenceStep.Note($"… {chosen.Count - maxPackets} more packets"));
        if (participants.Count == 0) return new Html("<div style=\"font-family:monospace\">No packets captured.</div>");
        return new SequenceDiagram($"Packets on {Device}", participants, steps);
    }

    /// <summary>Three-way handshakes begun: SYN segments without ACK.</summary>
    public int Handshakes => Packets.Count(p => p.Flags == TcpFlags.Syn);

    /// <summary>FIN segments, both directions: two per connection closed gracefully.</summary>
    public int Fins => Packets.Count(p => p.Flags.HasFlag(TcpFlags.Fin));

    /// <summary>
    /// Several captures side by side (keep-alive against close, straight against through a proxy): connections,
    /// handshakes, FINs, packets and bytes. The first failure's card instead when one could not capture.
    /// </summary>
    public static IHtmlDisplay Compare(string caption, params (string Label, CaptureResult Capture)[] runs)
    {
        if (runs.Select(r => r.Capture.Failure).FirstOrDefault(f => f is not null) is { } failure) return failure;
        return new HtmlTable(caption, ["", "connections", "handshakes (SYN)", "FINs", "packets", "bytes →", "bytes ←"],
            runs.Select(r => (IReadOnlyList<string>)
            [
                r.Label, r.Capture.Connections.Count.ToString(CultureInfo.InvariantCulture), r.Capture.Handshakes.ToString(CultureInfo.InvariantCulture),
                r.Capture.Fins.ToString(CultureInfo.InvariantCulture), r.Capture.Packets.Count.ToString(CultureInfo.InvariantCulture),
                r.Capture.Connections.Sum(c => c.BytesToServer).ToString(CultureInfo.InvariantCulture),
                r.Capture.Connections.Sum(c => c.BytesToClient).ToString(CultureInfo.InvariantCulture),
            ]));
    }

    /// <summary>
    /// Writes the frames as a .pcapng file that opens in Wireshark; a relative path lands in
    /// <see cref="CaptureFiles.Folder"/> (beside the executed notebook). Nothing is written when nothing was captured.
    /// </summary>
    public CaptureFile SavePcapng(string path)
    {
        if (Failure is not null) return new CaptureFile(null, 0, "nothing was captured");
        try
        {
            var full = CaptureFiles.Resolve(path);
            PcapngWriter.Write(full, Packets.Select(p => p.Frame), SnapshotLength, $"NetLabs capture on {Device} ({(Filter.Length > 0 ? Filter : "no filter")})");
            return new CaptureFile(full, Packets.Count);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new CaptureFile(null, 0, $"cannot write {path}: {error.Message}"); // the packets are still shown
        }
    }

    /// <summary>
    /// What a notebook cell shows: the failure card alone, or the sequence diagram (when <paramref name="diagram"/>),
    /// the connections, the first <paramref name="maxRows"/> rows of the packets <paramref name="where"/> selects
    /// (none: the connections only), and the .pcapng file saved under <paramref name="pcapng"/>.
    /// </summary>
    public IHtmlDisplay Report(string? pcapng = null, bool diagram = true, int maxRows = DefaultRows,
        IEnumerable<(int Port, string Name)>? names = null, Func<CapturedPacket, bool>? where = null)
    {
        if (Failure is not null) return Failure;
        var html = new StringBuilder("<div class=\"netlabs-capture\">");
        if (diagram) html.Append(ToSequenceDiagram(names: names, where: where).ToHtml());
        if (Connections.Count > 0) html.Append(ToConnectionsTable().ToHtml());
        if (maxRows > 0) html.Append(ToTable(maxRows, where).ToHtml());
        if (pcapng is not null) html.Append(SavePcapng(pcapng).ToHtml());
        return new Html(html.Append("</div>").ToString());
    }

    /// <summary>The failure card, or a one-line summary, the connections and the first rows of the packet table.</summary>
    public string ToHtml() => ToHtml(DefaultRows);

    public string ToHtml(int maxRows) => Report(diagram: false, maxRows: maxRows).ToHtml();

    public override string ToString() => Failure?.ToString()
        ?? $"{Packets.Count} packets on {Device}{(Filter.Length > 0 ? $" ({Filter})" : "")}, {Connections.Count} connection(s){(NotKept > 0 ? $", {NotKept} not kept" : "")}";
}

/// <summary>A saved .pcapng file; <see cref="Path"/> is null when none was written, and <see cref="WhyNot"/> says why.</summary>
public sealed record CaptureFile(string? Path, int Packets, string? WhyNot = null) : IHtmlDisplay
{
    public string ToHtml() => $"<div style=\"font-family:monospace\">{WebUtility.HtmlEncode(ToString())}</div>";

    public override string ToString() => Path is null
        ? $"no .pcapng file: {WhyNot}"
        : $"{Packets} packets saved to {System.IO.Path.GetFileName(Path)} (in {System.IO.Path.GetDirectoryName(Path)}): open it in Wireshark";
}

/// <summary>Where capture files go: next to the executed notebook.</summary>
public static class CaptureFiles
{
    /// <summary>Set by <c>netlabs notebooks run</c> to its artifacts folder, so the .pcapng lands beside the executed notebook.</summary>
    public const string FolderVariable = "NETLABS_ARTIFACTS";

    /// <summary><c>NETLABS_ARTIFACTS</c> when set, else the working directory (the notebook's folder in VS Code and Jupyter).</summary>
    public static string Folder => Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } folder ? folder : Environment.CurrentDirectory;

    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path, Folder);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }
}

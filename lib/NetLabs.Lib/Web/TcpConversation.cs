using System.Diagnostics;
using System.Globalization;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Web;

/// <summary>What a socket call of the client reported.</summary>
public enum TcpStep
{
    /// <summary>connect() returned: the kernels did the three-way handshake (SYN, SYN-ACK, ACK).</summary>
    Connected,
    /// <summary>send() handed bytes to the kernel.</summary>
    Sent,
    /// <summary>recv() returned bytes.</summary>
    Received,
    /// <summary>recv() returned 0: the server's FIN arrived, it will send nothing more.</summary>
    PeerClosed,
    /// <summary>close(): our FIN goes out.</summary>
    Closed,
}

/// <summary>One socket call of the client: when (from the start of connect()), what, how many bytes, and the bytes' first line.</summary>
public sealed record TcpEvent(TimeSpan At, TcpStep Step, int Bytes, string FirstLine);

/// <summary>
/// The TCP connection under one <see cref="HttpRawConnection"/>, as the client's socket calls reported it: the handshake
/// (connect), each send and each recv with its size, the server's FIN (recv returned 0) and our close. It is what the
/// sockets see, not a capture: the segments are the kernel's business (a send may leave in several, several may
/// arrive as one recv), and the handshake is shown as the three segments connect() waited for.
/// </summary>
public sealed class TcpConversation : IHtmlDisplay
{
    private const int MaxEvents = 200; // a large body read in many recv()s: the first ones show the lesson
    private readonly Stopwatch _clock;
    private readonly List<TcpEvent> _events = [];
    private readonly object _gate = new();
    private int _dropped;

    internal TcpConversation(Stopwatch clock, string client, string server)
    {
        _clock = clock;
        Client = client;
        Server = server;
    }

    /// <summary>Our end, "address:port" (the port the kernel chose for us).</summary>
    public string Client { get; }
    /// <summary>The server's end, "address:port".</summary>
    public string Server { get; }

    public IReadOnlyList<TcpEvent> Events
    {
        get { lock (_gate) return _events.ToArray(); }
    }

    internal void Record(TcpStep step, ReadOnlySpan<byte> bytes = default)
    {
        var line = FirstLine(bytes);
        lock (_gate)
        {
            if (_events.Count >= MaxEvents && step is TcpStep.Sent or TcpStep.Received) { _dropped++; return; }
            _events.Add(new TcpEvent(_clock.Elapsed, step, bytes.Length, line));
        }
    }

    /// <summary>The rows of the table: one per segment the step implies (the handshake is three), one per socket call otherwise.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Rows()
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var e in Events)
        {
            var at = e.At.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture);
            switch (e.Step)
            {
                case TcpStep.Connected:
                    rows.Add(["0.000", "──SYN──────────▶", "connect(): the client's kernel asks for a connection", ""]);
                    rows.Add(["", "◀──SYN-ACK──────", "the server's kernel agrees (before the server's accept())", ""]);
                    rows.Add([at, "──ACK──────────▶", "connect() returned: the connection is open", ""]);
                    break;
                case TcpStep.Sent:
                    rows.Add([at, "──data─────────▶", $"send() of {e.Bytes} bytes: the request", e.FirstLine]);
                    break;
                case TcpStep.Received:
                    rows.Add([at, "◀─────────data──", $"recv() returned {e.Bytes} bytes", e.FirstLine]);
                    break;
                case TcpStep.PeerClosed:
                    rows.Add([at, "◀──────────FIN──", "the server's FIN arrived (recv() returns 0): it closed its side", ""]);
                    break;
                case TcpStep.Closed:
                    rows.Add([at, "──FIN──────────▶", "close(): the client closes its side too", ""]);
                    break;
            }
        }
        if (_dropped > 0) rows.Add(["", "", $"… {_dropped} more send()/recv() calls not shown", ""]);
        return rows;
    }

    /// <summary>
    /// The connection as a sequence diagram, client on the left, time downwards: the handshake's three segments, the
    /// request and each recv() of the response with their first line and size, the FINs. Times are in <see cref="Rows"/>.
    /// </summary>
    public SequenceDiagram ToSequenceDiagram()
    {
        const string client = "client", server = "server";
        var steps = new List<SequenceStep>();
        foreach (var e in Events)
        {
            var at = e.At.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";
            switch (e.Step)
            {
                case TcpStep.Connected:
                    steps.Add(SequenceStep.Message(client, server, "SYN"));
                    steps.Add(SequenceStep.Reply(server, client, "SYN-ACK"));
                    steps.Add(SequenceStep.Message(client, server, "ACK"));
                    steps.Add(SequenceStep.Note($"{at}: connect() returned, the connection is open"));
                    break;
                case TcpStep.Sent:
                    steps.Add(SequenceStep.Message(client, server, $"{e.FirstLine} ({e.Bytes} bytes)"));
                    break;
                case TcpStep.Received:
                    steps.Add(SequenceStep.Reply(server, client, $"{e.FirstLine} ({e.Bytes} bytes)"));
                    break;
                case TcpStep.PeerClosed:
                    steps.Add(SequenceStep.Reply(server, client, "FIN"));
                    steps.Add(SequenceStep.Note($"{at}: the server closed its side (recv() returns 0)"));
                    break;
                case TcpStep.Closed:
                    steps.Add(SequenceStep.Message(client, server, "FIN"));
                    steps.Add(SequenceStep.Note($"{at}: close(): the client closed its side too"));
                    break;
            }
        }
        return new SequenceDiagram($"TCP connection {Client} ⇄ {Server}", [client, server], steps);
    }

    private HtmlTable Table() => new($"TCP connection {Client} ⇄ {Server}, as the client's socket calls reported it",
        ["ms", $"client {Client}  ⇄  server {Server}", "what the socket call reported", "first line of the bytes"], Rows());

    /// <summary>The sequence diagram, then the table with the time of each socket call.</summary>
    public string ToHtml() => ToSequenceDiagram().ToHtml() + Table().ToHtml();

    public override string ToString() => Table().ToString();

    /// <summary>The bytes' first line, CR and LF written out ("HTTP/1.1 200 OK\r\n…"), at most 60 characters.</summary>
    private static string FirstLine(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return "";
        var end = bytes.IndexOf((byte)'\n');
        var line = bytes[..(end < 0 ? Math.Min(bytes.Length, 60) : Math.Min(end + 1, 60))];
        var text = new StringBuilder();
        foreach (var b in line)
            text.Append(b switch { (byte)'\r' => "\\r", (byte)'\n' => "\\n", < 0x20 or >= 0x7F => $"\\x{b:X2}", _ => ((char)b).ToString() });
        if (line.Length < bytes.Length) text.Append('…');
        return text.ToString();
    }
}

/// <summary>A stream over the connection's socket that records each read and write in a <see cref="TcpConversation"/>.</summary>
internal sealed class RecordingStream(Stream inner, TcpConversation conversation) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        conversation.Record(read == 0 ? TcpStep.PeerClosed : TcpStep.Received, buffer.Span[..read]);
        return read;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        conversation.Record(TcpStep.Sent, buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

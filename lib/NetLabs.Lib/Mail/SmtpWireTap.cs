using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// A stream that passes everything through to the connection and writes what travels into a
/// <see cref="SmtpTranscript"/>: bytes written as the client's lines ("C:"), bytes read as the server's ("S:"), each
/// with its real line end, so a bare "\n" shows; after a "DATA" line the client's lines are message lines until the
/// lone ".". This is how a dialogue written straight on the stream (the student's) gets the same transcript as ours.
/// </summary>
/// <remarks>
/// Bounded: a line longer than <see cref="MaxLineChars"/> is recorded cut short, and the transcript keeps at most
/// <see cref="MaxLines"/> lines.
/// </remarks>
public sealed class SmtpWireTap : Stream
{
    public const int MaxLineChars = 1000;
    public const int MaxLines = 2000;

    /// <summary>Zero-byte reads in a row after which reading again is taken for a loop that never looks at the 0.</summary>
    public const int MaxReadsAtEnd = 100;

    private readonly Stream _inner;
    private readonly LineSplitter _client, _server;
    private volatile string? _stopped;
    private int _readsAtEnd;

    public SmtpWireTap(Stream connection, string title = "SMTP transcript (as sent on the socket)")
    {
        _inner = connection;
        Transcript = new SmtpTranscript { Title = title, MaxLines = MaxLines };
        _client = new LineSplitter(this, fromClient: true);
        _server = new LineSplitter(this, fromClient: false);
    }

    /// <summary>What travelled so far.</summary>
    public SmtpTranscript Transcript { get; }

    /// <summary>The client sent "DATA" and has not sent the lone "." yet.</summary>
    public bool InData { get; private set; }

    /// <summary>Bytes written and read so far.</summary>
    public long BytesSent { get; private set; }
    public long BytesReceived { get; private set; }

    /// <summary>Why the dialogue was stopped from outside (<see cref="Stop"/>), or null.</summary>
    public string? StoppedBecause => _stopped;

    /// <summary>The client's bytes after its last complete line (a command still waiting for its CRLF), as text.</summary>
    public string UnfinishedClientLine => _client.Pending;

    /// <summary>
    /// Ends the dialogue from outside (its time is up): from now on every read and write throws
    /// <see cref="IOException"/> with <paramref name="reason"/>, so a loop that ignores its token still comes to an end.
    /// </summary>
    public void Stop(string reason) => _stopped = reason;

    private void ThrowIfStopped()
    {
        if (_stopped is { } reason) throw new IOException(reason);
    }

    /// <summary>
    /// A read returns 0 once the server has closed; a loop that reads again and again without looking at that 0
    /// would spin for ever, burning a core. After <see cref="MaxReadsAtEnd"/> of them in a row, say so instead.
    /// </summary>
    private int Received(int n)
    {
        _readsAtEnd = n == 0 ? _readsAtEnd + 1 : 0;
        if (_readsAtEnd > MaxReadsAtEnd)
            throw new IOException($"read returned 0 (the server closed the connection) {MaxReadsAtEnd} times in a row: a read of 0 bytes means the end, stop reading");
        BytesReceived += n;
        return n;
    }

    /// <summary>Writes down the lines not yet ended (at the end of the dialogue, so nothing sent is missing).</summary>
    public void Flush(string note)
    {
        _client.FlushPending();
        _server.FlushPending();
        Transcript.Note(note);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        _client.Feed(buffer.Span);
        BytesSent += buffer.Length;
        await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        ThrowIfStopped();
        _client.Feed(buffer.AsSpan(offset, count));
        BytesSent += count;
        _inner.Write(buffer, offset, count);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        _server.Feed(buffer.Span[..n]);
        return Received(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        ThrowIfStopped();
        var n = _inner.Read(buffer, offset, count);
        _server.Feed(buffer.AsSpan(offset, n));
        return Received(n);
    }

    public override void Flush() => _inner.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    private void OnLine(bool fromClient, string text, string lineEnd)
    {
        if (!fromClient) { Transcript.Add(SmtpParty.Server, text, lineEnd); return; }
        if (InData)
        {
            Transcript.Add(SmtpParty.Data, text, lineEnd);
            if (text == ".") InData = false;
            return;
        }
        Transcript.Add(SmtpParty.Client, text, lineEnd);
        if (text.Trim().Equals("DATA", StringComparison.OrdinalIgnoreCase)) InData = true;
    }

    /// <summary>Cuts one direction's bytes into lines at LF, keeping the line end as it was ("\r\n" or a bare "\n").</summary>
    private sealed class LineSplitter(SmtpWireTap tap, bool fromClient)
    {
        private readonly StringBuilder _line = new();
        private bool _cut;

        public string Pending => _line.ToString();

        public void Feed(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                if (b == '\n')
                {
                    var crlf = _line.Length > 0 && _line[^1] == '\r';
                    if (crlf) _line.Length--;
                    tap.OnLine(fromClient, _line + (_cut ? "…" : ""), crlf ? "\r\n" : "\n");
                    _line.Clear();
                    _cut = false;
                }
                else if (_line.Length < MaxLineChars) _line.Append(b < 128 ? (char)b : '\uFFFD');
                else _cut = true;
            }
        }

        public void FlushPending()
        {
            if (_line.Length == 0) return;
            tap.OnLine(fromClient, _line.ToString().Replace("\r", "\\r") + (_cut ? "…" : "") + "   [no line end]", "");
            _line.Clear();
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// An SMTP server that answers every command with a multi-line reply, as real servers may, for one connection, and
/// sends each reply line in its own TCP segment after a pause: a client that takes one read() for a whole reply (or
/// one line for a reply) gets only its first line, and sends its next command while the reply is still coming.
/// The server notices that (bytes from the client waiting before it wrote the rest of the reply) and says where in
/// <see cref="SpokeDuringReply"/>.
/// </summary>
/// <remarks>
/// A test double that stays in the library on purpose: <see cref="MailStudentChecks"/> runs against it when a student
/// grades a dialogue in a notebook, where the test project is not there. So it is as strict as our own server: lines
/// end only at CRLF (read with <see cref="SmtpLineReader"/>), and a command with a bare LF inside gets 500, where a
/// lenient reader would take "\n" for a line end and accept a dialogue a real server refuses.
/// </remarks>
internal sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _session;
    private readonly List<string> _commands = [];
    private readonly TimeSpan _pause;
    private static readonly TimeSpan GreetingPatience = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private string? _spokeDuringReply;

    /// <param name="pause">The pause between the lines of a reply: long enough that a client's read returns before the next line comes.</param>
    public ScriptedSmtpServer(TimeSpan? pause = null)
    {
        _pause = pause ?? TimeSpan.FromMilliseconds(200);
        _listener.Start();
        _session = Task.Run(ServeOneAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The commands received (EHLO first), as sent; not the message lines after DATA.</summary>
    public IReadOnlyList<string> Commands { get { lock (_commands) return _commands.ToArray(); } }

    /// <summary>
    /// The first time the client sent something while a reply was still being written, e.g. "EHLO … while the 220
    /// reply was still coming (it had only \"220-scripted.test ESMTP\")"; null when it always waited for the last line.
    /// </summary>
    public string? SpokeDuringReply => Volatile.Read(ref _spokeDuringReply);

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until the session has read all the client sent, up to QUIT or the
    /// closed connection, so that <see cref="SpokeDuringReply"/> can name the command even when the client gave up first.
    /// </summary>
    public async Task SettleAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try { await _session.WaitAsync(timeout, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { }
    }

    /// <summary>The client said QUIT and got the 221.</summary>
    public bool SaidQuit { get; private set; }

    private async Task ServeOneAsync()
    {
        try
        {
            using var tcp = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var reader = new SmtpLineReader(stream, 4096);
            string? early = null;   // set when the client spoke during a reply, until we read what it said
            // One line per write, with a pause between lines; before each later line, look whether the client has
            // already sent its next command: then it took the lines so far for the whole reply.
            async Task Say(params string[] lines) => await SayWaiting(_pause, lines).ConfigureAwait(false);
            // The greeting waits longer before its last line: a client's first read comes late on a busy machine (its
            // code is still starting), and a client that takes the first line for the whole reply speaks within that
            // time, whereas a correct one waits for the last line anyway. So the mistake shows whatever the load.
            async Task SayWaiting(TimeSpan patience, params string[] lines)
            {
                for (var i = 0; i < lines.Length; i++)
                {
                    if (i > 0)
                    {
                        await Task.Delay(_pause, _stop.Token).ConfigureAwait(false);
                        for (var waited = _pause; tcp.Available == 0 && waited < patience; waited += PollInterval)
                            await Task.Delay(PollInterval, _stop.Token).ConfigureAwait(false);
                        if (tcp.Available > 0 && early is null && SpokeDuringReply is null)
                        {
                            early = $"while the {lines[0][..3]} reply was still coming (it had only {string.Join(" ", lines[..i].Select(l => $"\"{l}\""))} of its {lines.Length} lines)";
                            Volatile.Write(ref _spokeDuringReply, "sent its next command " + early);
                        }
                    }
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(lines[i] + "\r\n"), _stop.Token).ConfigureAwait(false);
                }
            }
            async Task<string?> ReadLineAsync()
            {
                if (await reader.ReadLineAsync(4096, _stop.Token).ConfigureAwait(false) == SmtpLineStatus.EndOfStream) return null;
                var line = Encoding.UTF8.GetString(reader.Line.Span);
                if (early is not null) Volatile.Write(ref _spokeDuringReply, $"sent \"{line}\" {early}");
                early = null;
                return line;
            }
            await SayWaiting(GreetingPatience, "220-scripted.test ESMTP", "220 multi-line greeting").ConfigureAwait(false);
            while (await ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Contains('\n')) { await Say("500 5.5.2 Bare LF in a command: every line ends with CRLF").ConfigureAwait(false); continue; }
                var verb = line.Split([' ', ':'])[0].ToUpperInvariant();
                lock (_commands) _commands.Add(line);
                switch (verb)
                {
                    case "EHLO": await Say("250-scripted.test", "250-SIZE 1000000", "250 8BITMIME").ConfigureAwait(false); break;
                    case "HELO": await Say("250-scripted.test", "250 hello").ConfigureAwait(false); break;
                    case "MAIL": await Say("250-Sender looks fine", "250 2.1.0 Ok").ConfigureAwait(false); break;
                    case "RCPT": await Say("250-Recipient looks fine", "250-really", "250 2.1.5 Ok").ConfigureAwait(false); break;
                    case "DATA":
                        await Say("354-Go ahead", "354 End with <CRLF>.<CRLF>").ConfigureAwait(false);
                        while (await ReadLineAsync().ConfigureAwait(false) is { } data && data != ".") { }
                        await Say("250-Message accepted", "250 queued as 42").ConfigureAwait(false);
                        break;
                    case "QUIT":
                        await Say("221 Bye").ConfigureAwait(false);
                        SaidQuit = true;
                        return;
                    default: await Say("502 5.5.2 Not in this script").ConfigureAwait(false); break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _session.ConfigureAwait(false);
        _stop.Dispose();
    }
}

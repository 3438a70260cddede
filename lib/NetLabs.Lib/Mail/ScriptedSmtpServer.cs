using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// An SMTP server that answers every command with a multi-line reply, as real servers may, for one connection.
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

    public ScriptedSmtpServer()
    {
        _listener.Start();
        _session = Task.Run(ServeOneAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The commands received after EHLO, as sent.</summary>
    public IReadOnlyList<string> Commands { get { lock (_commands) return _commands.ToArray(); } }

    private async Task ServeOneAsync()
    {
        try
        {
            using var tcp = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var reader = new SmtpLineReader(stream, 4096);
            async Task Say(string reply) => await stream.WriteAsync(Encoding.ASCII.GetBytes(reply), _stop.Token).ConfigureAwait(false);
            async Task<string?> ReadLineAsync() =>
                await reader.ReadLineAsync(4096, _stop.Token).ConfigureAwait(false) == SmtpLineStatus.EndOfStream ? null : Encoding.UTF8.GetString(reader.Line.Span);
            await Say("220-scripted.test ESMTP\r\n220 multi-line greeting\r\n").ConfigureAwait(false);
            while (await ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Contains('\n')) { await Say("500 5.5.2 Bare LF in a command: every line ends with CRLF\r\n").ConfigureAwait(false); continue; }
                var verb = line.Split([' ', ':'])[0].ToUpperInvariant();
                if (verb != "EHLO") lock (_commands) _commands.Add(line);
                switch (verb)
                {
                    case "EHLO": await Say("250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n").ConfigureAwait(false); break;
                    case "MAIL": await Say("250-Sender looks fine\r\n250 2.1.0 Ok\r\n").ConfigureAwait(false); break;
                    case "RCPT": await Say("250-Recipient looks fine\r\n250-really\r\n250 2.1.5 Ok\r\n").ConfigureAwait(false); break;
                    case "DATA":
                        await Say("354-Go ahead\r\n354 End with <CRLF>.<CRLF>\r\n").ConfigureAwait(false);
                        while (await ReadLineAsync().ConfigureAwait(false) is { } data && data != ".") { }
                        await Say("250-Message accepted\r\n250 queued as 42\r\n").ConfigureAwait(false);
                        break;
                    case "QUIT": await Say("221 Bye\r\n").ConfigureAwait(false); return;
                    default: await Say("502 5.5.2 Not in this script\r\n").ConfigureAwait(false); break;
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

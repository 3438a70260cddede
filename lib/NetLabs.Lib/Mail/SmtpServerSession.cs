using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// One client connection to <see cref="LocalMailServer"/>: reads commands, checks their order, answers. The state
/// is explicit: nothing → greeted (EHLO/HELO) → MAIL given → RCPT given → DATA. Replies are buffered and sent
/// when no complete command is waiting, so pipelined commands get their replies in one packet.
/// </summary>
/// <remarks>
/// <paramref name="refusal"/>: why the server turns this connection away with 421 (too many sessions), or null.
/// <paramref name="dialogueEnded"/>: gives the session's place back to the server (called once the dialogue is over).
/// </remarks>
internal sealed class SmtpServerSession(LocalMailServer server, Socket client, bool implicitTls, string? refusal, Action dialogueEnded)
{
    private enum State { Connected, Greeted, MailGiven, RcptGiven }

    private readonly LocalMailServerOptions _options = server.Options;
    private readonly SmtpTranscript? _transcript = server.Options.KeepTranscripts ? new SmtpTranscript { Title = "Server side", MaxLines = server.Options.MaxTranscriptLines } : null;
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private ArrayBufferWriter<byte>? _message; // the message of the transaction in progress, reused across messages (made at the first DATA)
    private readonly List<string> _recipients = [];
    private Stream _stream = null!;
    private SmtpLineReader _reader = null!;
    private CancellationTokenSource _idle = null!;
    private State _state;
    private string _clientName = "";
    private bool _extended;
    private IPEndPoint? _remote;
    private string _sender = "";
    private string? _user;
    private int _errors;
    private bool _quit;

    private bool IsSecure => _stream is SslStream;

    public async Task RunAsync(CancellationToken stopping)
    {
        _remote = client.RemoteEndPoint as IPEndPoint;
        _transcript?.Note($"connection from {_remote}{(implicitTls ? " (implicit TLS)" : "")}");
        using (client)
        using (_idle = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            try
            {
                client.NoDelay = true;
                _stream = new NetworkStream(client, ownsSocket: false);
                _reader = new SmtpLineReader(_stream, 4096);
                if (refusal is not null)
                {
                    // Refused before any TLS handshake: the cheapest answer, and the connection is closed at once.
                    server.SessionRefused(_remote, refusal);
                    // On the implicit TLS port a plain-text 421 would only look like a broken handshake: just close.
                    if (!implicitTls) await ReplyAsync(421, $"4.7.0 {_options.HostName} {refusal}, try again later", flush: true).ConfigureAwait(false);
                    return;
                }
                if (implicitTls)
                {
                    await HandshakeAsync().ConfigureAwait(false);
                    _reader.SwitchStream(_stream); // nothing was read before the handshake: the TLS stream from its first byte
                }
                await ReplyAsync(220, $"{_options.HostName} ESMTP NetLabs local mail server", flush: true).ConfigureAwait(false);
                await CommandLoopAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Idle timeout or server stopping: say so if the connection still works.
                var why = stopping.IsCancellationRequested ? "4.3.2 server shutting down" : "4.4.2 idle timeout, closing";
                _transcript?.Note(why);
                try { await WriteRawAsync(new SmtpReply(421, why).ToWire(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); }
                catch (Exception) { /* the peer may be gone: nothing more to do */ }
            }
            catch (Exception e) when (e is IOException or SocketException or AuthenticationException or ObjectDisposedException or TimeoutException)
            {
                _transcript?.Note("connection ended: " + e.Message);
            }
            catch (Exception e)
            {
                // A bug in here must end this session only, never the server.
                _transcript?.Note("session failed: " + e);
            }
            finally
            {
                dialogueEnded();
                server.SessionEnded(_transcript);
                await GracefulClose.CloseAsync(client, _stream).ConfigureAwait(false);
            }
        }
    }

    private async Task CommandLoopAsync(CancellationToken stopping)
    {
        while (!_quit)
        {
            var status = await ReadLineAsync(_options.MaxCommandLineLength).ConfigureAwait(false);
            if (status == SmtpLineStatus.EndOfStream) { _transcript?.Note("client closed the connection"); return; }
            if (status == SmtpLineStatus.TooLong)
            {
                _transcript?.Client($"[command line longer than {_options.MaxCommandLineLength} bytes]");
                await ErrorAsync(500, "5.5.2 Line too long").ConfigureAwait(false);
                continue;
            }
            var line = Encoding.UTF8.GetString(_reader.Line.Span);
            var space = line.IndexOf(' ');
            var verb = Verb(space < 0 ? line : line.AsSpan(0, space));
            var argument = space < 0 ? "" : line[(space + 1)..].Trim();
            _transcript?.Client(verb == "AUTH" ? RedactAuth(argument) : line);
            switch (verb)
            {
                case "EHLO": await HelloAsync(argument, extended: true).ConfigureAwait(false); break;
                case "HELO": await HelloAsync(argument, extended: false).ConfigureAwait(false); break;
                case "STARTTLS": await StartTlsAsync(argument).ConfigureAwait(false); break;
                case "AUTH": await AuthAsync(argument).ConfigureAwait(false); break;
                case "MAIL": await MailAsync(argument).ConfigureAwait(false); break;
                case "RCPT": await RcptAsync(argument).ConfigureAwait(false); break;
                case "DATA": await DataAsync(argument, stopping).ConfigureAwait(false); break;
                case "RSET": ResetTransaction(); await ReplyAsync(250, "2.0.0 OK").ConfigureAwait(false); break;
                case "NOOP": await ReplyAsync(250, "2.0.0 OK").ConfigureAwait(false); break;
                case "VRFY": await ReplyAsync(252, "2.5.2 Cannot VRFY user, but will accept message and attempt delivery").ConfigureAwait(false); break;
                case "HELP": await ReplyAsync(214, "2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY QUIT").ConfigureAwait(false); break;
                case "QUIT":
                    _quit = true;
                    dialogueEnded(); // before the 221: the client may connect again the moment it reads it
                    await ReplyAsync(221, $"2.0.0 {_options.HostName} closing connection", flush: true).ConfigureAwait(false);
                    break;
                case "EXPN" or "TURN" or "ETRN" or "BDAT" or "ATRN" or "SEND" or "SOML" or "SAML":
                    await ErrorAsync(502, $"5.5.1 {verb} not implemented").ConfigureAwait(false); break;
                case "":
                    await ErrorAsync(500, "5.5.2 Empty command").ConfigureAwait(false); break;
                default:
                    await ErrorAsync(500, "5.5.2 Command not recognized").ConfigureAwait(false); break;
            }
        }
    }

    private static readonly string[] Verbs = ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY", "HELP", "QUIT"];

    /// <summary>The command's verb in capitals: one of ours as the same string each time (no copy per command), any other as sent.</summary>
    private static string Verb(ReadOnlySpan<char> word)
    {
        foreach (var verb in Verbs)
            if (word.Equals(verb, StringComparison.OrdinalIgnoreCase)) return verb;
        return word.ToString().ToUpperInvariant();
    }

    private async Task HelloAsync(string argument, bool extended)
    {
        if (argument.Length == 0) { await ErrorAsync(501, $"5.5.4 Syntax: {(extended ? "EHLO" : "HELO")} hostname").ConfigureAwait(false); return; }
        // The name is echoed in the reply and written into the Received: header: a NUL, CR, LF or other control
        // character would let a client forge lines there (or crash a reader that trusts them).
        if (argument.Any(char.IsControl))
        {
            await ErrorAsync(501, "5.5.2 Invalid domain name: control characters are not allowed").ConfigureAwait(false);
            return;
        }
        ResetTransaction();
        _clientName = argument;
        _extended = extended;
        _state = State.Greeted;
        if (!extended) { await ReplyAsync(250, $"{_options.HostName} Hello {argument}").ConfigureAwait(false); return; }
        var lines = new List<string>
        {
            $"{_options.HostName} Hello {argument}",
            $"SIZE {_options.MaxMessageSize}",
            "8BITMIME",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
        };
        if (_options.EnableStartTls && server.Certificate is not null && !IsSecure) lines.Add("STARTTLS");
        if (AuthOffered && _user is null) lines.Add("AUTH PLAIN LOGIN");
        lines.Add("HELP");
        await ReplyAsync(new SmtpReply(250, lines)).ConfigureAwait(false);
    }

    private bool AuthOffered => _options.Accounts.Count > 0 && (IsSecure || _options.AllowAuthenticationWithoutTls);

    private async Task StartTlsAsync(string argument)
    {
        if (argument.Length > 0) { await ErrorAsync(501, "5.5.4 Syntax: STARTTLS (no parameters)").ConfigureAwait(false); return; }
        if (!_options.EnableStartTls || server.Certificate is null) { await ErrorAsync(502, "5.5.1 STARTTLS not offered").ConfigureAwait(false); return; }
        if (IsSecure) { await ErrorAsync(503, "5.5.1 TLS already active").ConfigureAwait(false); return; }
        if (_state == State.Connected) { await ErrorAsync(503, "5.5.1 EHLO first").ConfigureAwait(false); return; }
        await ReplyAsync(220, "2.0.0 Ready to start TLS", flush: true).ConfigureAwait(false);
        await HandshakeAsync().ConfigureAwait(false);
        // Commands sent in plain text after STARTTLS (CVE-2011-0411 style injection) are thrown away, not run.
        var injected = _reader.SwitchStream(_stream);
        if (injected > 0) _transcript?.Note($"discarded {injected} bytes sent before the TLS handshake");
        // RFC 3207: after TLS the session starts over; the client must say EHLO again.
        ResetTransaction();
        _state = State.Connected;
        _user = null;
    }

    private async Task HandshakeAsync()
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(_idle.Token);
        handshake.CancelAfter(TimeSpan.FromSeconds(Math.Min(30, _options.IdleTimeout.TotalSeconds)));
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = server.Certificate }, handshake.Token).ConfigureAwait(false);
        _stream = ssl;
        _transcript?.Note($"TLS established: {ssl.SslProtocol}, {ssl.NegotiatedCipherSuite}");
    }

    private async Task AuthAsync(string argument)
    {
        if (_state == State.Connected) { await ErrorAsync(503, "5.5.1 EHLO first").ConfigureAwait(false); return; }
        if (_user is not null) { await ErrorAsync(503, "5.5.1 Already authenticated").ConfigureAwait(false); return; }
        if (_state != State.Greeted) { await ErrorAsync(503, "5.5.1 AUTH not allowed during a mail transaction").ConfigureAwait(false); return; }
        if (_options.Accounts.Count == 0) { await ErrorAsync(502, "5.5.1 AUTH not offered").ConfigureAwait(false); return; }
        if (!AuthOffered) { await ErrorAsync(538, "5.7.11 Encryption required for requested authentication mechanism").ConfigureAwait(false); return; }
        if (server.AuthenticationLockedOut(_remote))
        {
            // Refused before the credentials are read: a guesser learns nothing, not even from the right password.
            await ErrorAsync(454, "4.7.0 Too many failed logins from your address, try again later").ConfigureAwait(false);
            return;
        }
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2) { await ErrorAsync(501, "5.5.4 Syntax: AUTH mechanism [initial-response]").ConfigureAwait(false); return; }
        string? user, password;
        switch (parts[0].ToUpperInvariant())
        {
            case "PLAIN":
                var response = parts.Length == 2 ? parts[1] : await ChallengeAsync("").ConfigureAwait(false);
                if (response is null) return;
                var fields = DecodeBase64(response)?.Split('\0');
                if (fields is not { Length: 3 }) { await ErrorAsync(501, "5.5.2 Cannot decode AUTH PLAIN response").ConfigureAwait(false); return; }
                (user, password) = (fields[1], fields[2]);
                break;
            case "LOGIN":
                var userLine = parts.Length == 2 ? parts[1] : await ChallengeAsync("VXNlcm5hbWU6").ConfigureAwait(false); // "Username:"
                if (userLine is null) return;
                user = DecodeBase64(userLine);
                var passwordLine = await ChallengeAsync("UGFzc3dvcmQ6").ConfigureAwait(false); // "Password:"
                if (passwordLine is null) return;
                password = DecodeBase64(passwordLine);
                if (user is null || password is null) { await ErrorAsync(501, "5.5.2 Cannot decode AUTH LOGIN response").ConfigureAwait(false); return; }
                break;
            default:
                await ErrorAsync(504, "5.5.4 Unrecognized authentication type").ConfigureAwait(false);
                return;
        }
        if (_options.Accounts.TryGetValue(user, out var expected) && FixedTimeEquals(expected, password))
        {
            _user = user;
            await ReplyAsync(235, "2.7.0 Authentication successful").ConfigureAwait(false);
        }
        else
        {
            server.AuthenticationFailed(_remote, user);
            await ErrorAsync(535, "5.7.8 Authentication credentials invalid").ConfigureAwait(false);
        }
    }

    /// <summary>Sends a 334 challenge and reads the client's answer; null if the client cancelled ("*") or broke off.</summary>
    private async Task<string?> ChallengeAsync(string challenge)
    {
        await ReplyAsync(334, challenge, flush: true).ConfigureAwait(false);
        var status = await ReadLineAsync(_options.MaxCommandLineLength).ConfigureAwait(false);
        if (status == SmtpLineStatus.EndOfStream) throw new IOException("client closed the connection during AUTH");
        var line = status == SmtpLineStatus.Line ? Encoding.ASCII.GetString(_reader.Line.Span) : "";
        _transcript?.Client("***");
        if (line == "*") { await ErrorAsync(501, "5.0.0 Authentication cancelled").ConfigureAwait(false); return null; }
        return line;
    }

    private static string? DecodeBase64(string text)
    {
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var length) ? Encoding.UTF8.GetString(bytes, 0, length) : null;
    }

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static string RedactAuth(string argument)
    {
        var mechanism = argument.Split(' ', 2)[0];
        return argument.Contains(' ') ? $"AUTH {mechanism} ***" : $"AUTH {mechanism}";
    }

    private async Task MailAsync(string argument)
    {
        if (_state == State.Connected) { await ErrorAsync(503, "5.5.1 EHLO/HELO first").ConfigureAwait(false); return; }
        if (_state != State.Greeted) { await ErrorAsync(503, "5.5.1 Nested MAIL command").ConfigureAwait(false); return; }
        if (_options.RequireAuthentication && _user is null) { await ErrorAsync(530, "5.7.0 Authentication required").ConfigureAwait(false); return; }
        if (!TryParsePath(argument, "FROM:", out var sender, out var parameters, allowEmpty: true))
        {
            await ErrorAsync(501, "5.5.4 Syntax: MAIL FROM:<address>").ConfigureAwait(false);
            return;
        }
        long size = 0;
        foreach (var parameter in parameters)
        {
            var (key, value) = parameter.IndexOf('=') is var eq and > 0 ? (parameter[..eq].ToUpperInvariant(), parameter[(eq + 1)..]) : (parameter.ToUpperInvariant(), "");
            if (key == "SIZE" && long.TryParse(value, out size) && size >= 0) continue;
            if (key == "BODY" && value.ToUpperInvariant() is "7BIT" or "8BITMIME") continue;
            await ErrorAsync(555, $"5.5.4 Unsupported MAIL parameter {key}").ConfigureAwait(false);
            return;
        }
        if (size > _options.MaxMessageSize) { await ReplyAsync(552, $"5.3.4 Message size exceeds fixed limit of {_options.MaxMessageSize} bytes").ConfigureAwait(false); return; }
        _sender = sender;
        _state = State.MailGiven;
        await ReplyAsync(250, "2.1.0 Sender OK").ConfigureAwait(false);
    }

    private async Task RcptAsync(string argument)
    {
        if (_state is not (State.MailGiven or State.RcptGiven)) { await ErrorAsync(503, "5.5.1 Need MAIL before RCPT").ConfigureAwait(false); return; }
        if (!TryParsePath(argument, "TO:", out var recipient, out var parameters, allowEmpty: false) || parameters.Length > 0)
        {
            await ErrorAsync(501, "5.5.4 Syntax: RCPT TO:<address>").ConfigureAwait(false);
            return;
        }
        if (_recipients.Count >= _options.MaxRecipients) { await ReplyAsync(452, "4.5.3 Too many recipients").ConfigureAwait(false); return; }
        var at = recipient.LastIndexOf('@');
        var domain = at < 0 ? "" : recipient[(at + 1)..];
        if (!_options.Domains.Contains(domain, StringComparer.OrdinalIgnoreCase))
        {
            await ReplyAsync(550, "5.7.1 Relaying denied: we accept mail only for " + string.Join(", ", _options.Domains)).ConfigureAwait(false);
            return;
        }
        if (_options.Mailboxes.Count > 0 && !_options.Mailboxes.Contains(recipient, StringComparer.OrdinalIgnoreCase))
        {
            await ReplyAsync(550, "5.1.1 No such user here").ConfigureAwait(false);
            return;
        }
        _recipients.Add(recipient);
        _state = State.RcptGiven;
        await ReplyAsync(250, "2.1.5 Recipient OK").ConfigureAwait(false);
    }

    /// <summary>Parses "FROM:&lt;a@b&gt; PARAM=…": the address between the angle brackets, then the parameters.</summary>
    private static bool TryParsePath(string argument, string prefix, out string address, out string[] parameters, bool allowEmpty)
    {
        address = "";
        parameters = [];
        if (!argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = argument[prefix.Length..].TrimStart();
        if (!rest.StartsWith('<')) return false;
        var close = rest.IndexOf('>');
        if (close < 0) return false;
        address = rest[1..close];
        // Source routes ("@a,@b:user@c") are obsolete; keep the mailbox.
        if (address.StartsWith('@') && address.IndexOf(':') is var colon and > 0) address = address[(colon + 1)..];
        if (address.Length == 0 ? !allowEmpty : !IsMailbox(address)) return false;
        parameters = rest[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return true;
    }

    private static bool IsMailbox(string address)
    {
        var at = address.LastIndexOf('@');
        return at > 0 && at < address.Length - 1 && !address.Any(c => c is ' ' or '<' or '>' || char.IsControl(c));
    }

    /// <summary>Largest message buffer a session keeps for its next message.</summary>
    private const int KeptMessageBuffer = 64 * 1024;

    private async Task DataAsync(string argument, CancellationToken stopping)
    {
        if (argument.Length > 0) { await ErrorAsync(501, "5.5.4 Syntax: DATA (no parameters)").ConfigureAwait(false); return; }
        if (_state != State.RcptGiven)
        {
            await ErrorAsync(503, _state == State.MailGiven ? "5.5.1 No valid recipients" : "5.5.1 Need MAIL and RCPT before DATA").ConfigureAwait(false);
            return;
        }
        await ReplyAsync(354, "End data with <CR><LF>.<CR><LF>", flush: true).ConfigureAwait(false);
        var message = _message ??= new ArrayBufferWriter<byte>(4096);
        message.ResetWrittenCount();
        bool tooBig = false, lineTooLong = false;
        var lines = 0;
        while (true)
        {
            var status = await ReadLineAsync(_options.MaxDataLineLength).ConfigureAwait(false);
            if (status == SmtpLineStatus.EndOfStream) throw new IOException("client closed the connection in the middle of DATA; message discarded");
            if (status == SmtpLineStatus.TooLong) { lineTooLong = true; continue; }
            var content = SmtpData.Unstuff(_reader.Line);
            if (content is null) break;
            lines++;
            if (tooBig || message.WrittenCount + content.Value.Length + 2 > _options.MaxMessageSize) { tooBig = true; continue; }
            message.Write(content.Value.Span);
            message.Write("\r\n"u8);
        }
        // A large message's buffer is not kept for the next one: an idle session holds at most this much.
        if (message.Capacity > KeptMessageBuffer) _message = null;
        _transcript?.Client($"[message: {message.WrittenCount} bytes, {lines} lines]");
        _transcript?.Client(".");
        if (tooBig) await ReplyAsync(552, $"5.3.4 Message size exceeds fixed limit of {_options.MaxMessageSize} bytes").ConfigureAwait(false);
        else if (lineTooLong) await ReplyAsync(500, $"5.5.6 Message has a line longer than {_options.MaxDataLineLength} bytes").ConfigureAwait(false);
        else
        {
            var id = server.NextMessageId();
            // A message nobody will read (none are kept, written out or logged) is only counted: its copy, date and
            // trace header would be work for no reader.
            if (server.KeepsMessages)
            {
                var now = DateTimeOffset.Now;
                await server.StoreAsync(new ReceivedMessage(id, new SmtpEnvelope(_sender, _recipients.ToArray()), message.WrittenSpan.ToArray(),
                    _clientName, _remote, IsSecure, _user, now, TraceHeader(id, now)), stopping).ConfigureAwait(false);
            }
            else server.Counted();
            await ReplyAsync(250, $"2.0.0 OK queued as {id}").ConfigureAwait(false);
        }
        ResetTransaction();
    }

    /// <summary>
    /// The <c>Received:</c> line RFC 5321 §4.4 asks every server to put at the top of a message it accepts: from whom
    /// (the EHLO name and the address it really came from), by whom, with which protocol (RFC 3848: ESMTP, +S for
    /// TLS, +A when authenticated; SMTP after HELO), our id, the recipient (only when there is one, so Bcc stays
    /// hidden) and when. Folded with CRLF TAB, as long headers are.
    /// </summary>
    private string TraceHeader(long id, DateTimeOffset now)
    {
        var protocol = !_extended ? "SMTP" : "ESMTP" + (IsSecure ? "S" : "") + (_user is not null ? "A" : "");
        var from = $"{_clientName} ([{_remote?.Address.MapToIPv4().ToString() ?? "unknown"}])";
        var recipient = _recipients.Count == 1 ? $"\r\n\tfor <{_recipients[0]}>" : "";
        return $"Received: from {from}\r\n\tby {_options.HostName} (NetLabs) with {protocol} id {id}{recipient};\r\n\t{MimeKit.Utils.DateUtils.FormatDate(now)}\r\n";
    }

    private void ResetTransaction()
    {
        _recipients.Clear();
        _sender = "";
        if (_state != State.Connected) _state = State.Greeted;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // once per command and per line of a message
    private async ValueTask<SmtpLineStatus> ReadLineAsync(int maxLength)
    {
        // Send what is waiting before we might block: the client may be waiting for it.
        if (!_reader.HasBufferedLine)
        {
            if (_output.WrittenCount > 0) await FlushAsync().ConfigureAwait(false);
            _idle.CancelAfter(_options.IdleTimeout); // the idle clock restarts only when we wait for the client
        }
        return await _reader.ReadLineAsync(maxLength, _idle.Token).ConfigureAwait(false);
    }

    /// <summary>Counts a client error; too many and the session ends with 421.</summary>
    private async Task ErrorAsync(int code, string text)
    {
        await ReplyAsync(code, text).ConfigureAwait(false);
        if (++_errors < _options.MaxErrors) return;
        _quit = true;
        await ReplyAsync(421, "4.7.0 Too many errors, closing connection", flush: true).ConfigureAwait(false);
    }

    /// <summary>A one-line reply, written straight to the output (a reply object only for the transcript, when kept).</summary>
    private Task ReplyAsync(int code, string text, bool flush = false)
    {
        _transcript?.Server(new SmtpReply(code, text));
        SmtpReply.WriteLine(_output, code, last: true, text);
        return SendIfDueAsync(flush);
    }

    private Task ReplyAsync(SmtpReply reply, bool flush = false)
    {
        _transcript?.Server(reply);
        reply.WriteTo(_output);
        return SendIfDueAsync(flush);
    }

    /// <summary>Sends the buffered replies unless asked to wait for more: a pipelined command already here gets its reply in the same packet.</summary>
    private Task SendIfDueAsync(bool flush) => flush || !_reader.HasBufferedLine ? FlushAsync() : Task.CompletedTask;

    private async Task FlushAsync()
    {
        await _stream.WriteAsync(_output.WrittenMemory, _idle.Token).ConfigureAwait(false);
        await _stream.FlushAsync(_idle.Token).ConfigureAwait(false);
        _output.ResetWrittenCount();
    }

    private async Task WriteRawAsync(string text, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

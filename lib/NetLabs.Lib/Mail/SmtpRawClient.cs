using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// An SMTP client written directly on a TCP socket (and <see cref="SslStream"/> for TLS): the lab itself.
/// Each method sends one command, reads the complete reply, and throws <see cref="SmtpCommandException"/> when the
/// code is not the one the dialogue needs, so a wrong reply stops everything instead of being ignored.
/// <see cref="SendCommandAsync"/> and <see cref="SendRawAsync"/> let a notebook step outside the rules (a message sent
/// without dot-stuffing); a student's own dialogue is written on the socket's stream instead (<see cref="SmtpClientDialogue"/>).
/// </summary>
public sealed class SmtpRawClient : IAsyncDisposable
{
    private readonly SmtpClientOptions _options;
    private TcpClient? _tcp;
    private Stream? _stream;
    private SmtpLineReader? _reader;
    private string _host = "";

    public SmtpRawClient(SmtpClientOptions? options = null) => _options = options ?? new SmtpClientOptions();

    /// <summary>The settings this client was made with.</summary>
    public SmtpClientOptions Options => _options;

    public SmtpTranscript Transcript { get; } = new();

    /// <summary>The greeting (220) the server sent after connecting.</summary>
    public SmtpReply? Greeting { get; private set; }

    /// <summary>The EHLO keywords and their parameters, e.g. "SIZE" → "10485760", "AUTH" → "PLAIN LOGIN". Empty after HELO.</summary>
    public IReadOnlyDictionary<string, string> Capabilities { get; private set; } = new Dictionary<string, string>();

    public bool IsConnected => _stream is not null;
    public bool IsSecure => _stream is SslStream;
    public bool IsAuthenticated { get; private set; }

    /// <summary>The negotiated TLS protocol and cipher, when secure.</summary>
    public string? TlsDescription => _stream is SslStream ssl ? $"{ssl.SslProtocol}, {ssl.NegotiatedCipherSuite}" : null;

    public bool Supports(string keyword) => Capabilities.ContainsKey(keyword);

    /// <summary>
    /// Opens the TCP connection (and TLS for <see cref="SmtpSecurity.ImplicitTls"/>), reads the 220 greeting and
    /// says EHLO; with <see cref="SmtpSecurity.StartTls"/> it then upgrades and says EHLO again.
    /// </summary>
    public async Task ConnectAsync(string host, int port, SmtpSecurity security = SmtpSecurity.None, CancellationToken cancellationToken = default)
    {
        if (_stream is not null) throw new InvalidOperationException("Already connected.");
        _host = host;
        Transcript.Note($"connecting to {host}:{port} ({security})");
        _tcp = new TcpClient { NoDelay = true };
        await StepAsync(token => _tcp.ConnectAsync(host, port, token).AsTask(), $"Connecting to {host}:{port}", cancellationToken).ConfigureAwait(false);
        _stream = _tcp.GetStream();
        _reader = new SmtpLineReader(_stream, 4096);
        if (security == SmtpSecurity.ImplicitTls) await HandshakeAsync(cancellationToken).ConfigureAwait(false);
        await GreetAsync(cancellationToken).ConfigureAwait(false);
        if (security == SmtpSecurity.StartTls) await StartTlsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Speaks SMTP on a connection someone else opened (the stream a <see cref="SmtpClientDialogue"/> is given): reads
    /// the 220 greeting and says EHLO. The stream is this client's from now on: <see cref="QuitAsync"/> closes it.
    /// </summary>
    public async Task AttachAsync(Stream connection, string host, CancellationToken cancellationToken = default)
    {
        if (_stream is not null) throw new InvalidOperationException("Already connected.");
        _host = host;
        _stream = connection;
        _reader = new SmtpLineReader(_stream, 4096);
        await GreetAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task GreetAsync(CancellationToken cancellationToken)
    {
        Greeting = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
        if (Greeting.Code != 220) throw new SmtpCommandException("(greeting)", Greeting, Transcript);
        await EhloAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>EHLO; if the server does not know it (500/502, an old SMTP server), HELO instead.</summary>
    public async Task EhloAsync(CancellationToken cancellationToken = default)
    {
        var reply = await SendCommandAsync($"EHLO {_options.ClientName}", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (reply.Code == 250)
        {
            Capabilities = ParseCapabilities(reply);
            return;
        }
        if (reply.Code is not (500 or 502)) throw new SmtpCommandException($"EHLO {_options.ClientName}", reply, Transcript);
        await SendCommandAsync($"HELO {_options.ClientName}", [250], cancellationToken).ConfigureAwait(false);
        Capabilities = new Dictionary<string, string>();
    }

    /// <summary>The first line of the EHLO reply is the server's name; each following line is "KEYWORD params".</summary>
    public static IReadOnlyDictionary<string, string> ParseCapabilities(SmtpReply ehloReply)
    {
        var capabilities = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in ehloReply.Lines.Skip(1))
        {
            var space = line.IndexOf(' ');
            var keyword = space < 0 ? line : line[..space];
            // Some old servers write "AUTH=LOGIN"; treat it like "AUTH LOGIN".
            if (keyword.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase)) { keyword = "AUTH"; space = 4; }
            var parameters = space < 0 ? "" : line[(space + 1)..].Trim();
            capabilities[keyword] = capabilities.TryGetValue(keyword, out var known) && known.Length > 0 ? known + " " + parameters : parameters;
        }
        return capabilities;
    }

    /// <summary>STARTTLS (RFC 3207): 220, then the TLS handshake on the same socket, then EHLO again.</summary>
    public async Task StartTlsAsync(CancellationToken cancellationToken = default)
    {
        if (IsSecure) throw new InvalidOperationException("The connection is already secure.");
        if (!Supports("STARTTLS"))
            throw new SmtpProtocolException("The server does not offer STARTTLS; refusing to go on in plain text.", Transcript);
        await SendCommandAsync("STARTTLS", [220], cancellationToken).ConfigureAwait(false);
        await HandshakeAsync(cancellationToken).ConfigureAwait(false);
        // Everything learnt before TLS may have been forged by a man in the middle: forget it, ask again.
        Capabilities = new Dictionary<string, string>();
        await EhloAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_stream!, leaveInnerStreamOpen: false, (_, certificate, _, errors) => _options.ValidateCertificate(certificate, errors));
        try
        {
            await StepAsync(token => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = _options.TlsServerName ?? _host }, token),
                "The TLS handshake", cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            Transcript.Note("TLS handshake failed: " + e.Message);
            throw new SmtpProtocolException("TLS handshake failed (is the server certificate trusted? pin it with TrustedCertificateSha256): " + e.Message, Transcript, e);
        }
        _stream = ssl;
        var leftover = _reader!.SwitchStream(ssl);
        if (leftover > 0) throw new SmtpProtocolException($"The server sent {leftover} bytes before the TLS handshake (injection attempt?).", Transcript);
        Transcript.Note($"TLS established: {ssl.SslProtocol}, {ssl.NegotiatedCipherSuite}");
    }

    /// <summary>
    /// AUTH (RFC 4954) with PLAIN or LOGIN; <paramref name="mechanism"/> null picks PLAIN if offered, else LOGIN.
    /// The transcript shows the exchange with the secrets replaced by "***". Without TLS it refuses
    /// (<see cref="SmtpSecurityException"/>) unless <see cref="SmtpClientOptions.AllowPlaintextAuthentication"/> is set.
    /// </summary>
    public async Task AuthenticateAsync(string user, string password, string? mechanism = null, CancellationToken cancellationToken = default)
    {
        if (!IsSecure && !_options.AllowPlaintextAuthentication)
        {
            Transcript.Note("AUTH not sent: the connection is not encrypted");
            throw SmtpSecurityException.PasswordInClear(user, Transcript);
        }
        var offered = (Capabilities.GetValueOrDefault("AUTH") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        mechanism ??= offered.Contains("PLAIN", StringComparer.OrdinalIgnoreCase) ? "PLAIN"
            : offered.Contains("LOGIN", StringComparer.OrdinalIgnoreCase) ? "LOGIN"
            : throw new SmtpProtocolException($"The server offers no PLAIN or LOGIN authentication (AUTH {string.Join(' ', offered)}).", Transcript);
        switch (mechanism.ToUpperInvariant())
        {
            case "PLAIN":
                // RFC 4616: authorization id (empty), NUL, user, NUL, password — base64 in one go.
                var plain = Base64($"\0{user}\0{password}");
                await SendCommandAsync($"AUTH PLAIN {plain}", [235], cancellationToken, redacted: Secret("AUTH PLAIN ***")).ConfigureAwait(false);
                break;
            case "LOGIN":
                // The server asks "Username:" then "Password:" (base64 encoded 334 challenges).
                await SendCommandAsync("AUTH LOGIN", [334], cancellationToken).ConfigureAwait(false);
                await SendCommandAsync(Base64(user), [334], cancellationToken, redacted: Secret("*** (user name)")).ConfigureAwait(false);
                await SendCommandAsync(Base64(password), [235], cancellationToken, redacted: Secret("*** (password)")).ConfigureAwait(false);
                break;
            default:
                throw new NotSupportedException($"AUTH {mechanism} is not implemented (PLAIN and LOGIN are).");
        }
        IsAuthenticated = true;
    }

    /// <summary>What the transcript shows for a secret: "***", or the base64 as it travels when the user opted in.</summary>
    private string? Secret(string redacted) => _options.ShowCredentialsInTranscript ? null : redacted;

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>MAIL FROM:&lt;sender&gt;, with SIZE and BODY=8BITMIME when the server offers them and they apply.</summary>
    public Task MailFromAsync(string sender, long? size = null, bool eightBit = false, CancellationToken cancellationToken = default)
    {
        var command = new StringBuilder($"MAIL FROM:<{sender}>");
        if (size is not null && Supports("SIZE")) command.Append(" SIZE=").Append(size);
        if (eightBit && Supports("8BITMIME")) command.Append(" BODY=8BITMIME");
        return SendCommandAsync(command.ToString(), [250], cancellationToken);
    }

    /// <summary>RCPT TO:&lt;recipient&gt;; 250 (delivered here) or 251 (will forward) are both fine.</summary>
    public Task RcptToAsync(string recipient, CancellationToken cancellationToken = default) =>
        SendCommandAsync($"RCPT TO:<{recipient}>", [250, 251], cancellationToken);

    /// <summary>DATA, 354, then the message dot-stuffed with CRLF line ends and the lone ".", then 250.</summary>
    public async Task<SmtpReply> DataAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        await SendCommandAsync("DATA", [354], cancellationToken).ConfigureAwait(false);
        var data = SmtpData.Encode(message.Span);
        RecordData(data);
        await StepAsync(async token =>
        {
            await _stream!.WriteAsync(data, token).ConfigureAwait(false);
            await _stream.FlushAsync(token).ConfigureAwait(false);
        }, "Sending the message", cancellationToken).ConfigureAwait(false);
        var reply = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
        if (reply.Code != 250) throw new SmtpCommandException("(end of data)", reply, Transcript);
        return reply;
    }

    /// <summary>How many message lines the transcript shows as sent, before it only counts the rest.</summary>
    public const int DataLinesShown = 40;

    /// <summary>
    /// The message lines as they travel (dot-stuffed, each ending in CRLF), the first <see cref="DataLinesShown"/> of
    /// them and the lone "."; a long message is summarised after those, so a transcript stays small.
    /// </summary>
    private void RecordData(byte[] data)
    {
        var lines = Encoding.UTF8.GetString(data).Split("\r\n");   // the last element is the "" after the final CRLF
        var messageLines = lines.Length - 2;                        // without the lone "." and that ""
        for (var i = 0; i < Math.Min(messageLines, DataLinesShown); i++)
            Transcript.Add(SmtpParty.Data, lines[i].Length > 200 ? lines[i][..200] + "…" : lines[i]);
        if (messageLines > DataLinesShown)
            Transcript.Note($"… {messageLines - DataLinesShown} more message lines ({data.Length - 3} bytes in all)");
        Transcript.Add(SmtpParty.Data, ".");
    }

    /// <summary>
    /// Writes bytes exactly as given, reading no reply: for a dialogue of one's own that sends the message after
    /// DATA itself (dot-stuffed, ending with ".\r\n"), then reads the reply with <see cref="ReadReplyAsync"/>.
    /// </summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        if (_stream is null) throw new InvalidOperationException("Not connected.");
        Transcript.Client($"[{bytes.Length} bytes sent as they are]");
        await StepAsync(async token =>
        {
            await _stream.WriteAsync(bytes, token).ConfigureAwait(false);
            await _stream.FlushAsync(token).ConfigureAwait(false);
        }, "Sending", cancellationToken).ConfigureAwait(false);
    }

    public Task RsetAsync(CancellationToken cancellationToken = default) => SendCommandAsync("RSET", [250], cancellationToken);
    public Task NoopAsync(CancellationToken cancellationToken = default) => SendCommandAsync("NOOP", [250], cancellationToken);

    /// <summary>QUIT, 221, and the connection is closed.</summary>
    public async Task QuitAsync(CancellationToken cancellationToken = default)
    {
        try { await SendCommandAsync("QUIT", [221], cancellationToken).ConfigureAwait(false); }
        catch { Close(); throw; }
        // After the 221 the server sends its TLS close_notify and FIN. Closing at once, with those bytes on their way,
        // makes our kernel answer them with a reset (seen in notebook 03's capture); so end as the server does:
        // close_notify, FIN, then read until the server's FIN (bounded).
        if (_tcp is { } tcp && _stream is { } stream)
        {
            (_tcp, _stream, _reader) = (null, null, null);
            await GracefulClose.CloseAsync(tcp.Client, stream).ConfigureAwait(false);
            tcp.Dispose();
        }
        else Close();
    }

    /// <summary>
    /// Sends one command line and reads the complete reply. With <paramref name="expected"/> codes, any other code
    /// throws <see cref="SmtpCommandException"/>; without, the reply is returned whatever it is.
    /// <paramref name="redacted"/> is what the transcript shows instead of the command (for secrets).
    /// </summary>
    public async Task<SmtpReply> SendCommandAsync(string command, IReadOnlyCollection<int>? expected = null,
        CancellationToken cancellationToken = default, string? redacted = null)
    {
        if (_stream is null) throw new InvalidOperationException("Not connected.");
        if (command.Contains('\r') || command.Contains('\n')) throw new ArgumentException("A command is one line: no CR or LF inside.", nameof(command));
        Transcript.Client(redacted ?? command);
        await StepAsync(async token =>
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), token).ConfigureAwait(false);
            await _stream.FlushAsync(token).ConfigureAwait(false);
        }, $"Sending {(redacted ?? command).Split(' ')[0]}", cancellationToken).ConfigureAwait(false);
        var reply = await ReadReplyAsync(cancellationToken).ConfigureAwait(false);
        if (expected is not null && !expected.Contains(reply.Code)) throw new SmtpCommandException(redacted ?? command, reply, Transcript);
        return reply;
    }

    /// <summary>
    /// Reads one complete reply: lines "ddd-text" continue it, the line "ddd text" (or just "ddd") ends it, and
    /// every line must carry the same code.
    /// </summary>
    public async Task<SmtpReply> ReadReplyAsync(CancellationToken cancellationToken = default)
    {
        if (_reader is null) throw new InvalidOperationException("Not connected.");
        using var step = Step(cancellationToken);
        var lines = new List<string>();
        int? code = null;
        try
        {
            while (true)
            {
                var status = await _reader.ReadLineAsync(_options.MaxReplyLineLength, step.Token).ConfigureAwait(false);
                if (status == SmtpLineStatus.EndOfStream) throw Broken("The server closed the connection" + (lines.Count > 0 ? " in the middle of a reply." : "."));
                if (status == SmtpLineStatus.TooLong) throw Broken($"A reply line is longer than {_options.MaxReplyLineLength} bytes.");
                var line = Encoding.UTF8.GetString(_reader.Line.Span);
                Transcript.Add(SmtpParty.Server, line);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var lineCode) || lineCode < 200 || lineCode > 599
                    || (line.Length > 3 && line[3] is not (' ' or '-')))
                    throw Broken($"Malformed reply line: \"{line}\".");
                if (code is not null && code != lineCode) throw Broken($"Reply code changed in the middle of a reply ({code} then {lineCode}).");
                code = lineCode;
                lines.Add(line.Length > 4 ? line[4..] : "");
                if (line.Length == 3 || line[3] == ' ') return new SmtpReply(lineCode, lines);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Broken($"No complete reply within {_options.Timeout.TotalSeconds:0.#} s.");
        }
        catch (IOException e)
        {
            throw new SmtpProtocolException("The connection failed: " + e.Message, Transcript, e);
        }
    }

    private SmtpProtocolException Broken(string message)
    {
        Transcript.Note(message);
        return new SmtpProtocolException(message, Transcript);
    }

    /// <summary>
    /// Runs one step (connect, TLS handshake, a write) under the per-step timeout. Its expiry becomes the typed
    /// protocol error; a bare OperationCanceledException only ever means the caller cancelled.
    /// </summary>
    private async Task StepAsync(Func<CancellationToken, Task> work, string what, CancellationToken cancellationToken)
    {
        using var step = Step(cancellationToken);
        try
        {
            await work(step.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Broken($"{what} did not complete within {_options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>A token for one step: the caller's token plus the per-step timeout.</summary>
    private CancellationTokenSource Step(CancellationToken cancellationToken)
    {
        var step = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        step.CancelAfter(_options.Timeout);
        return step;
    }

    private void Close()
    {
        _stream?.Dispose();
        _tcp?.Dispose();
        _stream = null;
        _tcp = null;
        _reader = null;
    }

    /// <summary>Closes the connection without QUIT (use <see cref="QuitAsync"/> for a polite goodbye).</summary>
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}

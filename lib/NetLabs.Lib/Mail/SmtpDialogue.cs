using MimeKit;

namespace NetLabs.Mail;

/// <summary>Who the message goes from and to, as SMTP sees it (MAIL FROM / RCPT TO), apart from its headers.</summary>
public sealed record SmtpEnvelope(string From, IReadOnlyList<string> To)
{
    /// <summary>The envelope a message's own headers imply: From (or Sender), then To, Cc and Bcc.</summary>
    public static SmtpEnvelope FromMessage(MimeMessage message)
    {
        var from = (message.Sender ?? message.From.Mailboxes.FirstOrDefault())?.Address
            ?? throw new ArgumentException("The message has no From address.", nameof(message));
        var to = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes)
            .Select(m => m.Address).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        if (to.Length == 0) throw new ArgumentException("The message has no recipients.", nameof(message));
        return new SmtpEnvelope(from, to);
    }
}

/// <summary>Where and how to send: what <see cref="SmtpDialogue.SendAsync(SmtpServerAddress, MimeMessage, SmtpClientOptions?, CancellationToken)"/> needs.</summary>
public sealed record SmtpServerAddress(string Host, int Port, SmtpSecurity Security = SmtpSecurity.None)
{
    public string? User { get; init; }
    /// <summary>Never printed: <see cref="ToString"/> leaves it out.</summary>
    public string? Password { get; init; }
    public override string ToString() => $"{Host}:{Port} ({Security}{(User is null ? "" : ", user " + User)})";
}

/// <summary>
/// The client side of one whole SMTP session, written straight on the connected TCP stream: read the 220 greeting,
/// EHLO (or HELO), MAIL FROM, one RCPT TO per recipient, DATA, the message (<paramref name="message"/>: headers, blank
/// line, body, lines ending in CRLF) dot-stuffed and ended by a lone ".", QUIT; reading every reply whole and
/// throwing when its code is not the one expected. The part of the lab a student writes (the K&amp;R skeleton);
/// <see cref="SmtpDialogue.RunAsync"/> is ours. Set one as <see cref="SmtpClientOptions.Dialogue"/>.
/// </summary>
public delegate Task SmtpClientDialogue(Stream connection, SmtpEnvelope envelope, string message, CancellationToken cancellationToken);

/// <summary>
/// The SMTP dialogue of the lab: ours on a connection (<see cref="RunAsync"/>, the reference for the student's
/// <see cref="SmtpClientDialogue"/>), our mail transaction on a connected <see cref="SmtpRawClient"/>, and the whole
/// lab in one call (connect, TLS, AUTH, send, QUIT).
/// </summary>
public static class SmtpDialogue
{
    /// <summary>Sends a MimeKit message (7-bit, or 8-bit if the server offers 8BITMIME) on a connected client.</summary>
    public static Task<SmtpReply> SendAsync(SmtpRawClient client, MimeMessage message, SmtpEnvelope? envelope = null,
        CancellationToken cancellationToken = default)
    {
        var eightBit = client.Supports("8BITMIME");
        var bytes = MailMessages.ToBytes(message, eightBit ? EncodingConstraint.EightBit : EncodingConstraint.SevenBit);
        return SendAsync(client, envelope ?? SmtpEnvelope.FromMessage(message), bytes, cancellationToken);
    }

    /// <summary>Our mail transaction: sends raw message bytes (headers, blank line, body) for the given envelope.</summary>
    public static async Task<SmtpReply> SendAsync(SmtpRawClient client, SmtpEnvelope envelope, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        var eightBit = message.Span.IndexOfAnyExceptInRange((byte)0, (byte)127) >= 0;
        await client.MailFromAsync(envelope.From, message.Length, eightBit, cancellationToken).ConfigureAwait(false);
        foreach (var recipient in envelope.To)
            await client.RcptToAsync(recipient, cancellationToken).ConfigureAwait(false);
        return await client.DataAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Our <see cref="SmtpClientDialogue"/>: the whole session on a connection someone else opened, with
    /// <see cref="SmtpRawClient"/> (greeting, EHLO, the transaction, QUIT).
    /// </summary>
    public static async Task RunAsync(Stream connection, SmtpEnvelope envelope, string message, CancellationToken cancellationToken = default)
    {
        await using var client = new SmtpRawClient();
        await client.AttachAsync(connection, "localhost", cancellationToken).ConfigureAwait(false);
        await SendAsync(client, envelope, System.Text.Encoding.UTF8.GetBytes(message), cancellationToken).ConfigureAwait(false);
        await client.QuitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The whole lab in one call. With <see cref="SmtpClientOptions.Dialogue"/> (the student's): connect, hand the
    /// socket to that dialogue, and return what travelled on it (plain SMTP only: TLS and AUTH are the library's).
    /// Without: connect (TLS as asked), authenticate if a user is given (over TLS only, unless
    /// <see cref="SmtpClientOptions.AllowPlaintextAuthentication"/>), send, QUIT. Returns the transcript; on failure
    /// our client's exception carries it.
    /// </summary>
    public static async Task<SmtpTranscript> SendAsync(SmtpServerAddress server, MimeMessage message, SmtpClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        if (options?.Dialogue is { } dialogue) return await RunDialogueAsync(dialogue, server, message, options, cancellationToken).ConfigureAwait(false);
        await using var client = new SmtpRawClient(options);
        await client.ConnectAsync(server.Host, server.Port, server.Security, cancellationToken).ConfigureAwait(false);
        if (server.User is not null)
            await client.AuthenticateAsync(server.User, server.Password ?? "", cancellationToken: cancellationToken).ConfigureAwait(false);
        await SendAsync(client, message, cancellationToken: cancellationToken).ConfigureAwait(false);
        await client.QuitAsync(cancellationToken).ConfigureAwait(false);
        return client.Transcript;
    }

    /// <summary>
    /// Runs a dialogue of one's own on a fresh connection, within <see cref="SmtpClientOptions.Timeout"/>; when that
    /// passes the connection is closed, so a dialogue waiting on a read that ignores its token ends too.
    /// </summary>
    private static async Task<SmtpTranscript> RunDialogueAsync(SmtpClientDialogue dialogue, SmtpServerAddress server, MimeMessage message,
        SmtpClientOptions options, CancellationToken cancellationToken)
    {
        if (server.Security != SmtpSecurity.None || server.User is not null)
            throw new ArgumentException("A dialogue of one's own speaks plain SMTP on the socket: no TLS, no AUTH (those are the library's).", nameof(server));
        var text = System.Text.Encoding.ASCII.GetString(MailMessages.ToBytes(message, EncodingConstraint.SevenBit));
        using var tcp = new System.Net.Sockets.TcpClient { NoDelay = true };
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.Timeout);
        await tcp.ConnectAsync(server.Host, server.Port, limit.Token).ConfigureAwait(false);
        await using var wire = new SmtpWireTap(tcp.GetStream());
        using var closeOnTimeout = limit.Token.Register(() =>
        {
            wire.Stop($"the dialogue was stopped after {options.Timeout.TotalSeconds:0.#} s");
            tcp.Dispose();
        });
        try
        {
            await dialogue(wire, SmtpEnvelope.FromMessage(message), text, limit.Token).ConfigureAwait(false);
        }
        finally
        {
            wire.Flush(limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                ? $"the dialogue did not finish within {options.Timeout.TotalSeconds:0.#} s: connection closed" : "end of the dialogue");
        }
        return wire.Transcript;
    }
}

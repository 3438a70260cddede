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
/// One mail transaction on a connected (and, if needed, authenticated) client: the part of the lab a student
/// writes. <see cref="SmtpDialogue.SendAsync(SmtpRawClient, SmtpEnvelope, ReadOnlyMemory{byte}, CancellationToken)"/>
/// is ours; set another one as <see cref="SmtpClientOptions.Transaction"/> to run it instead.
/// </summary>
public delegate Task<SmtpReply> MailTransaction(SmtpRawClient client, SmtpEnvelope envelope, ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

/// <summary>
/// The mail transaction of the lab, on an already connected client: MAIL FROM, RCPT TO for each recipient, DATA,
/// the message. This is the part a student writes; a replacement only needs <see cref="SmtpRawClient"/>'s
/// public methods (or just <see cref="SmtpRawClient.SendCommandAsync"/>).
/// </summary>
public static class SmtpDialogue
{
    /// <summary>
    /// Sends a MimeKit message (prepared for 7-bit, or 8-bit if the server offers 8BITMIME) with the client's
    /// <see cref="SmtpClientOptions.Transaction"/>, or ours when it has none.
    /// </summary>
    public static Task<SmtpReply> SendAsync(SmtpRawClient client, MimeMessage message, SmtpEnvelope? envelope = null,
        CancellationToken cancellationToken = default)
    {
        var eightBit = client.Supports("8BITMIME");
        var bytes = MailMessages.ToBytes(message, eightBit ? EncodingConstraint.EightBit : EncodingConstraint.SevenBit);
        return (client.Options.Transaction ?? SendAsync)(client, envelope ?? SmtpEnvelope.FromMessage(message), bytes, cancellationToken);
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
    /// The whole lab in one call: connect (TLS as asked), authenticate if a user is given (over TLS only, unless
    /// <see cref="SmtpClientOptions.AllowPlaintextAuthentication"/>), send with <see cref="SmtpClientOptions.Transaction"/>
    /// (ours when null), QUIT. Returns the transcript; on failure the exception carries it.
    /// </summary>
    public static async Task<SmtpTranscript> SendAsync(SmtpServerAddress server, MimeMessage message, SmtpClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await using var client = new SmtpRawClient(options);
        await client.ConnectAsync(server.Host, server.Port, server.Security, cancellationToken).ConfigureAwait(false);
        if (server.User is not null)
            await client.AuthenticateAsync(server.User, server.Password ?? "", cancellationToken: cancellationToken).ConfigureAwait(false);
        await SendAsync(client, message, cancellationToken: cancellationToken).ConfigureAwait(false);
        await client.QuitAsync(cancellationToken).ConfigureAwait(false);
        return client.Transcript;
    }
}

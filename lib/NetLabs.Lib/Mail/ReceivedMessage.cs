using System.Net;
using MimeKit;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>
/// A message the local server accepted: the envelope, the raw bytes exactly as received (dot-stuffing undone),
/// the <c>Received:</c> trace header the server adds in front of them (RFC 5321 §4.4), and the MimeKit parse of the
/// stored message (made on first use).
/// </summary>
public sealed class ReceivedMessage : IHtmlDisplay
{
    private readonly Lazy<MimeMessage> _parsed;

    public ReceivedMessage(long id, SmtpEnvelope envelope, byte[] raw, string clientName, IPEndPoint? remote, bool secure, string? user, DateTimeOffset received,
        string traceHeader = "")
    {
        TraceHeader = traceHeader;
        Id = id;
        Envelope = envelope;
        Raw = raw;
        ClientName = clientName;
        RemoteEndPoint = remote;
        WasSecure = secure;
        AuthenticatedUser = user;
        ReceivedAt = received;
        _parsed = new Lazy<MimeMessage>(() => MimeMessage.Load(new MemoryStream(Stored(), writable: false)));
    }

    public long Id { get; }
    public SmtpEnvelope Envelope { get; }
    /// <summary>The message bytes as received (headers, blank line, body), CRLF line ends.</summary>
    public byte[] Raw { get; }
    /// <summary>What the client said in EHLO/HELO.</summary>
    public string ClientName { get; }
    public IPEndPoint? RemoteEndPoint { get; }
    /// <summary>Whether it came over TLS (STARTTLS or implicit).</summary>
    public bool WasSecure { get; }
    public string? AuthenticatedUser { get; }
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>
    /// The <c>Received:</c> header this server put in front of the message (CRLF line ends, folded, ending with CRLF):
    /// who handed it over (EHLO name and address), to whom, with which protocol (ESMTP, ESMTPS with TLS, ESMTPA/ESMTPSA
    /// when authenticated, RFC 3848), the message id, the recipient and the time. Empty if none was added.
    /// </summary>
    public string TraceHeader { get; }

    /// <summary>The message as stored (the .eml file, a mailbox): <see cref="TraceHeader"/> then <see cref="Raw"/>. A new array each call.</summary>
    public byte[] Stored() => [.. System.Text.Encoding.ASCII.GetBytes(TraceHeader), .. Raw];

    /// <summary>The message as stored, parsed by MimeKit (its first header is our <c>Received:</c>).</summary>
    public MimeMessage Message => _parsed.Value;

    public string RawText => System.Text.Encoding.UTF8.GetString(Raw);

    public string ToHtml() =>
        new HtmlTable($"Received message #{Id}", ["envelope", "value"],
        [
            ["MAIL FROM", Envelope.From],
            ["RCPT TO", string.Join(", ", Envelope.To)],
            ["client", $"{ClientName} ({RemoteEndPoint}){(WasSecure ? ", TLS" : "")}{(AuthenticatedUser is null ? "" : ", user " + AuthenticatedUser)}"],
            ["size", $"{Raw.Length} bytes"],
            ["trace", TraceHeader.Replace("\r\n\t", " ").TrimEnd()],
        ]).ToHtml() + MailMessages.ToHtml(Message).ToHtml();

    public override string ToString() => $"#{Id} from <{Envelope.From}> to {string.Join(", ", Envelope.To.Select(t => $"<{t}>"))}, {Raw.Length} bytes: {Message.Subject}";
}

using System.Net;
using MimeKit;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>
/// A message the local server accepted: the envelope, the raw bytes exactly as received (dot-stuffing undone),
/// and the MimeKit parse of them (made on first use).
/// </summary>
public sealed class ReceivedMessage : IHtmlDisplay
{
    private readonly Lazy<MimeMessage> _parsed;

    public ReceivedMessage(long id, SmtpEnvelope envelope, byte[] raw, string clientName, IPEndPoint? remote, bool secure, string? user, DateTimeOffset received)
    {
        Id = id;
        Envelope = envelope;
        Raw = raw;
        ClientName = clientName;
        RemoteEndPoint = remote;
        WasSecure = secure;
        AuthenticatedUser = user;
        ReceivedAt = received;
        _parsed = new Lazy<MimeMessage>(() => MimeMessage.Load(new MemoryStream(Raw, writable: false)));
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

    /// <summary>The message parsed by MimeKit.</summary>
    public MimeMessage Message => _parsed.Value;

    public string RawText => System.Text.Encoding.UTF8.GetString(Raw);

    public string ToHtml() =>
        new HtmlTable($"Received message #{Id}", ["envelope", "value"],
        [
            ["MAIL FROM", Envelope.From],
            ["RCPT TO", string.Join(", ", Envelope.To)],
            ["client", $"{ClientName} ({RemoteEndPoint}){(WasSecure ? ", TLS" : "")}{(AuthenticatedUser is null ? "" : ", user " + AuthenticatedUser)}"],
            ["size", $"{Raw.Length} bytes"],
        ]).ToHtml() + MailMessages.ToHtml(Message).ToHtml();

    public override string ToString() => $"#{Id} from <{Envelope.From}> to {string.Join(", ", Envelope.To.Select(t => $"<{t}>"))}, {Raw.Length} bytes: {Message.Subject}";
}

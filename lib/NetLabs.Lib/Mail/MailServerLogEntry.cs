using System.Net;

namespace NetLabs.Mail;

/// <summary>What a <see cref="MailServerLogEntry"/> records.</summary>
public enum MailServerEvent
{
    /// <summary>A message was stored and the client got its 250.</summary>
    MessageAccepted,
    /// <summary>A connection was turned away with 421 (too many sessions in all, or from that address).</summary>
    SessionRefused,
    /// <summary>AUTH with a wrong user name or password (535).</summary>
    AuthenticationFailed,
    /// <summary>AUTH refused without looking at the password: too many failures from that address lately (454).</summary>
    AuthenticationLockedOut,
}

/// <summary>
/// One line of <see cref="LocalMailServer"/>'s log: every accepted message, and every session or login it refused.
/// <see cref="ToString"/> is the line <c>netlabs mail serve</c> prints. An accepted message is described (id,
/// envelope, size), not kept: <see cref="LocalMailServer.Messages"/> keeps the messages.
/// </summary>
public sealed record MailServerLogEntry(DateTimeOffset Time, MailServerEvent Event, IPEndPoint? Client, string Detail)
{
    /// <summary>The id of the accepted message (<see cref="ReceivedMessage.Id"/>); 0 for other events.</summary>
    public long MessageId { get; init; }

    internal static MailServerLogEntry Accepted(ReceivedMessage message) =>
        new(message.ReceivedAt, MailServerEvent.MessageAccepted, message.RemoteEndPoint,
            $"#{message.Id} from {message.Envelope.From} to {string.Join(", ", message.Envelope.To)} ({message.Raw.Length} bytes"
            + (message.WasSecure ? ", TLS" : "") + (message.AuthenticatedUser is { } user ? ", user " + user : "") + ")")
        {
            MessageId = message.Id,
        };

    public override string ToString()
    {
        var what = Event switch
        {
            MailServerEvent.MessageAccepted => "accepted",
            MailServerEvent.SessionRefused => "refused session",
            MailServerEvent.AuthenticationFailed => "failed login",
            _ => "locked out login",
        };
        return $"{Time.ToLocalTime():HH:mm:ss} {what} {Detail} from {Client?.ToString() ?? "?"}";
    }
}

/// <summary>Totals of everything <see cref="LocalMailServer"/> did since it started (the log keeps only the latest).</summary>
public sealed record MailServerCounters(
    long Sessions,
    int ActiveSessions,
    long MessagesAccepted,
    long SessionsRefused,
    long AuthenticationFailures,
    long AuthenticationsLockedOut);

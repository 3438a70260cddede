using NetLabs.Hosting;

namespace NetLabs.Mail;

/// <summary>
/// The server answered a command with a code the dialogue cannot go on with (e.g. 550 to RCPT TO). The dialogue
/// stops here; the reply and the transcript so far say what happened.
/// </summary>
public sealed class SmtpCommandException(string command, SmtpReply reply, SmtpTranscript transcript)
    : NetLabsException($"The server answered {command} with {reply.Code}: {reply.Text}")
{
    /// <summary>The command as sent (credentials redacted).</summary>
    public string Command { get; } = command;
    public SmtpReply Reply { get; } = reply;
    public SmtpTranscript Transcript { get; } = transcript;
}

/// <summary>The peer broke the protocol: a malformed reply, a closed connection, a line that never ends.</summary>
public sealed class SmtpProtocolException(string message, SmtpTranscript? transcript = null, Exception? inner = null)
    : NetLabsException(message, inner)
{
    public SmtpTranscript? Transcript { get; } = transcript;
}

/// <summary>
/// The client refused a step that would give a secret away: sending a password over a connection that is not
/// encrypted (allow it with <see cref="SmtpClientOptions.AllowPlaintextAuthentication"/>, on a network you trust).
/// </summary>
public sealed class SmtpSecurityException(string message, SmtpTranscript transcript) : NetLabsException(message)
{
    public SmtpTranscript Transcript { get; } = transcript;

    internal static SmtpSecurityException PasswordInClear(string user, SmtpTranscript transcript) => new(
        $"Refusing to send the password of {user} in clear: this connection has no TLS. Use STARTTLS or implicit TLS, or allow plain-text authentication explicitly (AllowPlaintextAuthentication) on a network you trust.",
        transcript);
}

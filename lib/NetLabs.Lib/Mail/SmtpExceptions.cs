namespace NetLabs.Mail;

/// <summary>
/// The server answered a command with a code the dialogue cannot go on with (e.g. 550 to RCPT TO). The dialogue
/// stops here; the reply and the transcript so far say what happened.
/// </summary>
public sealed class SmtpCommandException(string command, SmtpReply reply, SmtpTranscript transcript)
    : Exception($"The server answered {command} with {reply.Code}: {reply.Text}")
{
    /// <summary>The command as sent (credentials redacted).</summary>
    public string Command { get; } = command;
    public SmtpReply Reply { get; } = reply;
    public SmtpTranscript Transcript { get; } = transcript;
}

/// <summary>The peer broke the protocol: a malformed reply, a closed connection, a line that never ends.</summary>
public sealed class SmtpProtocolException(string message, SmtpTranscript? transcript = null, Exception? inner = null)
    : Exception(message, inner)
{
    public SmtpTranscript? Transcript { get; } = transcript;
}

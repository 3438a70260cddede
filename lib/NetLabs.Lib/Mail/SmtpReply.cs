using System.Text;

namespace NetLabs.Mail;

/// <summary>
/// One complete SMTP reply (RFC 5321 §4.2): a three-digit code and one or more text lines. A multi-line reply
/// is sent as "250-first", "250-second", …, "250 last"; the reader collects all of them before returning.
/// </summary>
public sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    public SmtpReply(int code, string text) : this(code, [text]) { }

    /// <summary>2yz: the command was accepted.</summary>
    public bool IsPositiveCompletion => Code is >= 200 and < 300;
    /// <summary>3yz: go on (after DATA: send the message; after AUTH: the next challenge).</summary>
    public bool IsPositiveIntermediate => Code is >= 300 and < 400;
    /// <summary>4yz: try again later.</summary>
    public bool IsTransientFailure => Code is >= 400 and < 500;
    /// <summary>5yz: do not repeat this command as it is.</summary>
    public bool IsPermanentFailure => Code >= 500;

    /// <summary>All text lines joined by a space.</summary>
    public string Text => string.Join(" ", Lines);

    /// <summary>The reply as it travels on the wire, lines separated by CRLF, the last one ending with CRLF too.</summary>
    public string ToWire()
    {
        var wire = new StringBuilder();
        for (var i = 0; i < Lines.Count; i++)
            wire.Append(Code).Append(i == Lines.Count - 1 ? ' ' : '-').Append(Lines[i]).Append("\r\n");
        return wire.ToString();
    }

    public override string ToString() => string.Join(" | ", Lines.Select((l, i) => $"{Code}{(i == Lines.Count - 1 ? ' ' : '-')}{l}"));
}

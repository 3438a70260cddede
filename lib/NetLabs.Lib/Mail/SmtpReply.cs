using System.Buffers;
using System.Globalization;
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
        var wire = new ArrayBufferWriter<byte>();
        WriteTo(wire);
        return Encoding.UTF8.GetString(wire.WrittenSpan);
    }

    /// <summary>Writes the reply as it travels on the wire (UTF-8), as <see cref="ToWire"/> gives it.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        for (var i = 0; i < Lines.Count; i++) WriteLine(output, Code, last: i == Lines.Count - 1, Lines[i]);
    }

    /// <summary>
    /// One line of a reply: "250-text", or "250 text" for its last line, then CRLF. A server that keeps no transcript
    /// writes its one-line replies with this alone, without a reply object and its string per reply.
    /// </summary>
    public static void WriteLine(IBufferWriter<byte> output, int code, bool last, string text)
    {
        var head = output.GetSpan(16);
        code.TryFormat(head, out var written, default, CultureInfo.InvariantCulture);
        head[written++] = (byte)(last ? ' ' : '-');
        output.Advance(written);
        Encoding.UTF8.GetBytes(text, output);
        output.Write("\r\n"u8);
    }

    public override string ToString() => string.Join(" | ", Lines.Select((l, i) => $"{Code}{(i == Lines.Count - 1 ? ' ' : '-')}{l}"));
}

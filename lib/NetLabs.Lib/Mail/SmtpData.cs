namespace NetLabs.Mail;

/// <summary>
/// The message as it travels after DATA (RFC 5321 §4.5.2): every line ends in CRLF, a line that starts with "."
/// gets one more "." in front (dot-stuffing), and a line with a lone "." ends the message.
/// </summary>
public static class SmtpData
{
    /// <summary>
    /// Turns message bytes into DATA bytes: bare CR or LF become CRLF, leading dots are doubled, a final CRLF is
    /// added if missing, then the ".\r\n" terminator.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> message)
    {
        var output = new MemoryStream(message.Length + message.Length / 64 + 8);
        var atLineStart = true;
        for (var i = 0; i < message.Length; i++)
        {
            var b = message[i];
            if (b == '\r' || b == '\n')
            {
                if (b == '\r' && i + 1 < message.Length && message[i + 1] == '\n') i++;
                output.Write("\r\n"u8);
                atLineStart = true;
                continue;
            }
            if (atLineStart && b == '.') output.WriteByte((byte)'.');
            output.WriteByte(b);
            atLineStart = false;
        }
        if (!atLineStart) output.Write("\r\n"u8);
        output.Write(".\r\n"u8);
        return output.ToArray();
    }

    /// <summary>
    /// One DATA line as received, back to message content: null for the terminating ".", otherwise the line with
    /// one leading dot removed.
    /// </summary>
    public static ReadOnlyMemory<byte>? Unstuff(ReadOnlyMemory<byte> line)
    {
        if (line.Length == 0 || line.Span[0] != '.') return line;
        if (line.Length == 1) return null;
        return line[1..];
    }
}

async Task SendMail(Stream connection, SmtpEnvelope envelope, string message, CancellationToken cancellationToken)
{
    // Fill in start
    var pending = "";            // read but not used yet: one read may bring half a line, or several lines
    var buffer = new byte[1024];

    async Task<string> ReadLine()
    {
        int end;
        while ((end = pending.IndexOf("\r\n")) < 0)
        {
            var n = await connection.ReadAsync(buffer, cancellationToken);
            if (n == 0) throw new IOException("the server closed the connection");
            pending += Encoding.ASCII.GetString(buffer, 0, n);
        }
        var line = pending[..end];
        pending = pending[(end + 2)..];
        return line;
    }

    // A reply is complete at its line with a space after the code: "250-…" lines go on, "250 …" ends it.
    async Task ExpectReply(params string[] codes)
    {
        string line;
        do line = await ReadLine(); while (line.Length > 3 && line[3] == '-');
        if (!codes.Any(line.StartsWith)) throw new InvalidOperationException($"expected {string.Join(" or ", codes)}, the server said \"{line}\"");
    }

    async Task Send(string line) => await connection.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), cancellationToken);

    await ExpectReply("220");
    await Send("EHLO netlabs.localhost");
    await ExpectReply("250");
    await Send($"MAIL FROM:<{envelope.From}>");
    await ExpectReply("250");
    foreach (var recipient in envelope.To)
    {
        await Send($"RCPT TO:<{recipient}>");
        await ExpectReply("250", "251");               // 250: delivered here, 251: will forward
    }
    await Send("DATA");
    await ExpectReply("354");
    var lines = message.Split("\r\n");
    if (message.EndsWith("\r\n")) lines = lines[..^1];
    foreach (var line in lines)
        await Send(line.StartsWith('.') ? "." + line : line);   // dot-stuffing: only our "." alone ends the data
    await Send(".");
    await ExpectReply("250");
    await Send("QUIT");
    await ExpectReply("221");
    // Fill in end
}

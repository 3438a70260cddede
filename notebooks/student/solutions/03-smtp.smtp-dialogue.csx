async Task<SmtpReply> SendMail(SmtpRawClient client, SmtpEnvelope envelope, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
{
    // Fill in start
    // Each command is one line; the expected codes make SendCommandAsync throw on any other reply.
    await client.SendCommandAsync($"MAIL FROM:<{envelope.From}>", [250], cancellationToken);
    foreach (var recipient in envelope.To)
        await client.SendCommandAsync($"RCPT TO:<{recipient}>", [250, 251], cancellationToken);
    await client.SendCommandAsync("DATA", [354], cancellationToken);

    // The message, line by line with CRLF; a line that starts with "." gets a second one (dot-stuffing),
    // so that only our final "." alone on its line ends the data.
    var text = Encoding.Latin1.GetString(message.Span).Replace("\r\n", "\n");
    if (text.EndsWith('\n')) text = text[..^1];
    var data = new StringBuilder();
    foreach (var line in text.Split('\n'))
        data.Append(line.StartsWith('.') ? "." + line : line).Append("\r\n");
    data.Append(".\r\n");
    await client.SendRawAsync(Encoding.Latin1.GetBytes(data.ToString()), cancellationToken);

    var reply = await client.ReadReplyAsync(cancellationToken);
    if (reply.Code != 250) throw new SmtpCommandException("(end of data)", reply, client.Transcript);
    return reply;
    // Fill in end
}

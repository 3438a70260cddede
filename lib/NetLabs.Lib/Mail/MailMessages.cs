using System.Text;
using MimeKit;
using MimeKit.Utils;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>Builds the lab's messages with MimeKit: plain text, text with inline images, attachments.</summary>
public static class MailMessages
{
    /// <summary>A plain text message (UTF-8 is fine in subject and body; MimeKit encodes the headers).</summary>
    public static MimeMessage PlainText(string from, string to, string subject, string body)
    {
        var message = Envelope(from, to, subject);
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    /// <summary>
    /// Text with images shown inside it: multipart/related holding an HTML part that refers to each image as
    /// "cid:…", the images themselves, and a plain text alternative for clients that show no HTML.
    /// </summary>
    public static MimeMessage TextWithImages(string from, string to, string subject, string text, IEnumerable<string> imagePaths, IEnumerable<string>? attachmentPaths = null)
    {
        var message = Envelope(from, to, subject);
        var builder = new BodyBuilder { TextBody = text };
        var html = new StringBuilder("<p>")
            .Append(System.Net.WebUtility.HtmlEncode(text).Replace("\n", "<br>")).Append("</p>");
        foreach (var path in imagePaths)
        {
            var image = builder.LinkedResources.Add(path);
            image.ContentId = MimeUtils.GenerateMessageId("netlabs.localhost");
            html.Append("<p><img src=\"cid:").Append(image.ContentId).Append("\" alt=\"")
                .Append(System.Net.WebUtility.HtmlEncode(Path.GetFileName(path))).Append("\"></p>");
        }
        builder.HtmlBody = html.ToString();
        foreach (var path in attachmentPaths ?? []) builder.Attachments.Add(path);
        message.Body = builder.ToMessageBody();
        return message;
    }

    private static MimeMessage Envelope(string from, string to, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            message.To.Add(MailboxAddress.Parse(address));
        message.Subject = subject;
        message.Date = DateTimeOffset.Now;
        message.MessageId = MimeUtils.GenerateMessageId("netlabs.localhost");
        return message;
    }

    /// <summary>The message as bytes with CRLF line ends, its transfer encodings chosen for the given constraint.</summary>
    public static byte[] ToBytes(MimeMessage message, EncodingConstraint constraint = EncodingConstraint.SevenBit)
    {
        message.Prepare(constraint);
        using var output = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, output);
        return output.ToArray();
    }

    /// <summary>The raw MIME text, as it would go after DATA (before dot-stuffing), for display.</summary>
    public static string RawMime(MimeMessage message) => Encoding.UTF8.GetString(ToBytes(message));

    /// <summary>
    /// HTML that shows a message as a mail program would: headers, then the HTML body with its cid: images turned
    /// into data: URIs (so they appear inline in a notebook), or the text body.
    /// </summary>
    public static Html ToHtml(MimeMessage message)
    {
        var html = new StringBuilder("<div class=\"netlabs-mail\" style=\"border:1px solid #ccc;padding:6px\">");
        foreach (var (name, value) in new[] { ("From", message.From.ToString()), ("To", message.To.ToString()), ("Subject", message.Subject ?? ""), ("Date", message.Headers.Contains(HeaderId.Date) ? message.Date.ToString("u") : "(none: the message has no Date header)") })
            html.Append("<div><b>").Append(name).Append(":</b> ").Append(System.Net.WebUtility.HtmlEncode(value)).Append("</div>");
        html.Append("<hr>");
        if (message.HtmlBody is { } body)
        {
            foreach (var part in message.BodyParts.OfType<MimePart>().Where(p => p.ContentId is not null && p.Content is not null))
            {
                using var bytes = new MemoryStream();
                part.Content!.DecodeTo(bytes);
                var dataUri = $"data:{part.ContentType.MimeType};base64,{Convert.ToBase64String(bytes.ToArray())}";
                body = body.Replace("cid:" + part.ContentId, dataUri, StringComparison.OrdinalIgnoreCase);
            }
            html.Append(body);
        }
        else html.Append("<pre>").Append(System.Net.WebUtility.HtmlEncode(message.TextBody ?? "")).Append("</pre>");
        var attachments = message.Attachments.Select(a => a.ContentDisposition?.FileName ?? a.ContentType.Name).ToArray();
        if (attachments.Length > 0)
            html.Append("<div><i>attachments: ").Append(System.Net.WebUtility.HtmlEncode(string.Join(", ", attachments))).Append("</i></div>");
        return new Html(html.Append("</div>").ToString());
    }
}

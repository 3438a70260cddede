using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace NetLabs.Mail;

/// <summary>
/// The same job done by MailKit's <see cref="SmtpClient"/>, for comparison: it returns MailKit's own protocol log
/// (secrets redacted) as a <see cref="SmtpTranscript"/>, ready to be put next to ours with
/// <see cref="SmtpTranscript.SideBySide"/>.
/// </summary>
public static class MailKitSender
{
    public static async Task<SmtpTranscript> SendAsync(SmtpServerAddress server, MimeMessage message, SmtpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SmtpClientOptions();
        using var log = new MemoryStream();
        using (var client = new SmtpClient(new MailKit.ProtocolLogger(log, leaveOpen: true) { RedactSecrets = true }))
        {
            client.LocalDomain = options.ClientName;
            client.Timeout = (int)options.Timeout.TotalMilliseconds;
            client.ServerCertificateValidationCallback = (_, certificate, _, errors) => options.ValidateCertificate(certificate, errors);
            var security = server.Security switch
            {
                SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                SmtpSecurity.ImplicitTls => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(server.Host, server.Port, security, cancellationToken).ConfigureAwait(false);
            if (server.User is not null)
            {
                // The same rule as ours: no password in clear unless asked for (MailKit itself would send it).
                if (!client.IsSecure && !options.AllowPlaintextAuthentication)
                    throw SmtpSecurityException.PasswordInClear(server.User, new SmtpTranscript { Title = "MailKit" });
                await client.AuthenticateAsync(server.User, server.Password ?? "", cancellationToken).ConfigureAwait(false);
            }
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
        }
        return SmtpTranscript.FromProtocolLog(System.Text.Encoding.UTF8.GetString(log.ToArray()));
    }
}

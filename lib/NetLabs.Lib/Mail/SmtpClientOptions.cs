using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace NetLabs.Mail;

/// <summary>How the connection is secured.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain TCP the whole time (port 25, or the local lab server).</summary>
    None,
    /// <summary>Plain TCP, then STARTTLS before anything else (submission, port 587). Fails if the server cannot.</summary>
    StartTls,
    /// <summary>TLS from the first byte (submissions, port 465, RFC 8314).</summary>
    ImplicitTls,
}

/// <summary>Settings of <see cref="SmtpRawClient"/>.</summary>
public sealed record SmtpClientOptions
{
    /// <summary>The name this client gives in EHLO/HELO.</summary>
    public string ClientName { get; init; } = "netlabs.localhost";

    /// <summary>How long one step (connect, one command and its reply, the TLS handshake) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// SHA-256 fingerprint (hex) of a server certificate to trust even though no authority vouches for it: the way
    /// to trust the local lab server's self-signed certificate (<see cref="LocalMailServer.CertificateSha256"/>).
    /// Any other certificate still has to pass normal validation.
    /// </summary>
    public string? TrustedCertificateSha256 { get; init; }

    /// <summary>Name to check the certificate against; defaults to the host connected to.</summary>
    public string? TlsServerName { get; init; }

    /// <summary>Longest reply line accepted (RFC 5321 says 512; we allow some slack).</summary>
    public int MaxReplyLineLength { get; init; } = 4096;

    /// <summary>
    /// Send a password over a connection without TLS (AUTH PLAIN and LOGIN are only base64: anyone on the path reads
    /// it). Off by default: <see cref="SmtpRawClient.AuthenticateAsync"/> refuses with <see cref="SmtpSecurityException"/>.
    /// </summary>
    public bool AllowPlaintextAuthentication { get; init; }

    /// <summary>
    /// Show the AUTH arguments in the transcript as they travel (base64 of the user name and password) instead of
    /// "***". Off by default; the notebook turns it on for the local server's random password, to show that base64
    /// is an encoding anyone can undo, not encryption. Never turn it on with a real password.
    /// </summary>
    public bool ShowCredentialsInTranscript { get; init; }

    /// <summary>
    /// The SMTP dialogue to run on the connected socket (greeting, EHLO, MAIL FROM, RCPT TO, DATA, the message, QUIT):
    /// the student's seam. Null runs ours, <see cref="SmtpDialogue.RunAsync"/>.
    /// </summary>
    public SmtpClientDialogue? Dialogue { get; init; }

    internal bool ValidateCertificate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || TrustedCertificateSha256 is null) return false;
        // Only the name/chain checks may be overridden by the pin; the pin itself must match exactly.
        var actual = certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);
        return string.Equals(actual, TrustedCertificateSha256.Replace(":", ""), StringComparison.OrdinalIgnoreCase);
    }
}

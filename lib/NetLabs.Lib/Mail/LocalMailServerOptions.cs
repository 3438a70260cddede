using System.Net;

namespace NetLabs.Mail;

/// <summary>Settings of <see cref="LocalMailServer"/>. The defaults are safe: loopback only, no relaying, AUTH only over TLS.</summary>
public sealed record LocalMailServerOptions
{
    /// <summary>Address to listen on; loopback unless you really mean otherwise.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>Port for plain SMTP with STARTTLS; 0 picks a free one (see <see cref="LocalMailServer.Port"/>).</summary>
    public int Port { get; init; }
    /// <summary>Also listen for implicit TLS (like port 465) on another port (0 = a free one); null = not at all.</summary>
    public int? ImplicitTlsPort { get; init; }
    /// <summary>Name in the greeting and the EHLO reply, and in the self-signed certificate.</summary>
    public string HostName { get; init; } = "localhost";

    /// <summary>Domains we accept mail for; RCPT TO any other domain is refused (550 5.7.1, no relaying).</summary>
    public IReadOnlyCollection<string> Domains { get; init; } = ["localhost", "netlabs.test"];
    /// <summary>If not empty, only these addresses exist; others get 550 5.1.1 (unknown user).</summary>
    public IReadOnlyCollection<string> Mailboxes { get; init; } = [];

    /// <summary>User name → password for AUTH PLAIN/LOGIN.</summary>
    public IReadOnlyDictionary<string, string> Accounts { get; init; } = new Dictionary<string, string>();
    /// <summary>Refuse MAIL FROM (530) until the client has authenticated.</summary>
    public bool RequireAuthentication { get; init; }
    /// <summary>Offer AUTH on an unencrypted connection too (only for teaching; passwords then travel in clear).</summary>
    public bool AllowAuthenticationWithoutTls { get; init; }
    /// <summary>Offer STARTTLS (a self-signed certificate is made at start).</summary>
    public bool EnableStartTls { get; init; } = true;

    /// <summary>Largest message accepted (advertised as SIZE); larger ones get 552.</summary>
    public long MaxMessageSize { get; init; } = 10 * 1024 * 1024;
    /// <summary>Longest command line (RFC 5321: 512 bytes including CRLF).</summary>
    public int MaxCommandLineLength { get; init; } = 2048;
    /// <summary>Longest line inside a message (RFC 5321: 1000 bytes including CRLF).</summary>
    public int MaxDataLineLength { get; init; } = 1000;
    public int MaxRecipients { get; init; } = 100;
    /// <summary>Sessions at once; the next ones get 421 and are closed.</summary>
    public int MaxSessions { get; init; } = 256;
    /// <summary>A client that sends nothing for this long gets 421 and is disconnected.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Unknown or bad commands allowed in one session before the server hangs up.</summary>
    public int MaxErrors { get; init; } = 20;

    /// <summary>Keep at most this many received messages in memory (oldest dropped first); 0 keeps none.</summary>
    public int MaxStoredMessages { get; init; } = 10_000;
    /// <summary>If set, every accepted message is also written there as a .eml file.</summary>
    public string? EmlDirectory { get; init; }
    /// <summary>Keep a transcript of every session (costs a little speed).</summary>
    public bool KeepTranscripts { get; init; } = true;
}

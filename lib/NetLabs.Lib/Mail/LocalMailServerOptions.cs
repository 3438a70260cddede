using System.Net;
using NetLabs.Hosting;

namespace NetLabs.Mail;

/// <summary>
/// Settings of <see cref="LocalMailServer"/>. The defaults are safe: loopback only, no relaying, AUTH only over TLS,
/// a limit of sessions and of failed logins per client address.
/// </summary>
public sealed record LocalMailServerOptions
{
    /// <summary>The port the lab's server uses from the command line (<c>netlabs mail serve</c>).</summary>
    public const int LabPort = 2525;

    /// <summary>Address to listen on; loopback unless you really mean otherwise.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>Port for plain SMTP with STARTTLS; 0 picks a free one (see <see cref="LabServer{TLogEntry, TCounters}.Port"/>).</summary>
    public int Port { get; init; }
    /// <summary>Also listen for implicit TLS (like port 465) on another port (0 = a free one); null = not at all.</summary>
    public int? ImplicitTlsPort { get; init; }
    /// <summary>Name in the greeting, the EHLO reply, the <c>Received:</c> header, and the self-signed certificate.</summary>
    public string HostName { get; init; } = "localhost";
    /// <summary>Log entries kept in <see cref="LabServer{TLogEntry, TCounters}.Log"/> (the latest; 0 keeps none).</summary>
    public int LogCapacity { get; init; } = 1000;

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
    /// <summary>
    /// Failed logins from one client address within <see cref="AuthenticationFailureWindow"/> after which every AUTH
    /// from that address gets 454 until the window has passed, even with the right password: guessing stays slow.
    /// </summary>
    public int MaxAuthenticationFailures { get; init; } = 5;
    /// <summary>How long failed logins count against an address (and how long it stays locked out).</summary>
    public TimeSpan AuthenticationFailureWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest message accepted (advertised as SIZE); larger ones get 552.</summary>
    public long MaxMessageSize { get; init; } = 10 * 1024 * 1024;
    /// <summary>Longest command line (RFC 5321: 512 bytes including CRLF).</summary>
    public int MaxCommandLineLength { get; init; } = 2048;
    /// <summary>Longest line inside a message (RFC 5321: 1000 bytes including CRLF).</summary>
    public int MaxDataLineLength { get; init; } = 1000;
    public int MaxRecipients { get; init; } = 100;
    /// <summary>Sessions at once; the next ones get 421 and are closed.</summary>
    public int MaxSessions { get; init; } = 256;
    /// <summary>Sessions at once from one client address, so one machine cannot take every session from the room.</summary>
    public int MaxSessionsPerAddress { get; init; } = 20;
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
    /// <summary>Lines kept of one session's transcript (the first ones: a session that goes on forever stays bounded).</summary>
    public int MaxTranscriptLines { get; init; } = 1000;
    /// <summary>Transcripts of the latest sessions kept in <see cref="LocalMailServer.RecentTranscripts"/>.</summary>
    public int MaxKeptTranscripts { get; init; } = 50;

    /// <summary>Throws <see cref="ServerStartException"/> naming the first setting that cannot work.</summary>
    internal void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ServerStartException(message);
        }
        Require(!string.IsNullOrWhiteSpace(HostName) && !HostName.Any(c => char.IsControl(c) || c == ' '), $"HostName '{HostName}' is not a host name.");
        Require(ImplicitTlsPort is null or (>= 0 and <= 65535), $"Port {ImplicitTlsPort} does not exist: a port is 0–65535 (0 picks a free one).");
        Require(LogCapacity >= 0, "LogCapacity cannot be negative (0 keeps no log entries).");
        Require(Domains.Count > 0, "The server needs at least one domain to accept mail for.");
        Require(!RequireAuthentication || Accounts.Count > 0, "RequireAuthentication needs at least one account to authenticate with.");
        Require(MaxAuthenticationFailures >= 1, "MaxAuthenticationFailures must be at least 1.");
        Require(AuthenticationFailureWindow > TimeSpan.Zero, "AuthenticationFailureWindow must be longer than zero.");
        Require(MaxMessageSize >= 1, "MaxMessageSize must be at least 1 byte.");
        Require(MaxCommandLineLength >= 512, "MaxCommandLineLength must be at least 512 bytes (RFC 5321).");
        Require(MaxDataLineLength >= 1000, "MaxDataLineLength must be at least 1000 bytes (RFC 5321).");
        Require(MaxRecipients >= 1, "MaxRecipients must be at least 1.");
        Require(MaxSessions >= 1, "MaxSessions must be at least 1.");
        Require(MaxSessionsPerAddress >= 1, "MaxSessionsPerAddress must be at least 1.");
        Require(IdleTimeout > TimeSpan.Zero, "IdleTimeout must be longer than zero.");
        Require(MaxErrors >= 1, "MaxErrors must be at least 1.");
        Require(MaxStoredMessages >= 0, "MaxStoredMessages cannot be negative (0 keeps none).");
        Require(MaxTranscriptLines >= 10, "MaxTranscriptLines must be at least 10.");
        Require(MaxKeptTranscripts >= 0, "MaxKeptTranscripts cannot be negative (0 keeps none).");
    }
}

using System.CommandLine;
using NetLabs.Cli.CommandLine;
using NetLabs.Mail;

namespace NetLabs.Cli.Mail;

/// <summary><c>netlabs mail serve</c> and <c>netlabs mail send</c>: lab 3 across the room.</summary>
internal static class MailCommands
{
    public const string ServerPasswordVariable = "NETLABS_MAIL_PASSWORD";
    public const string ClientPasswordVariable = "NETLABS_SMTP_PASSWORD";

    public static Command Create() => new("mail", "SMTP (lab 3): a local mail server, and the raw-socket SMTP client.") { Serve(), Send() };

    private static Command Serve()
    {
        var port = new Option<int>("--port") { Description = "Port for SMTP with STARTTLS (0 = any free port).", DefaultValueFactory = _ => LocalMailServerOptions.LabPort };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var tls = new Option<string>("--tls") { Description = "none, starttls, or implicit (STARTTLS plus TLS from the first byte on --tls-port).", DefaultValueFactory = _ => "starttls" };
        tls.AcceptOnlyFromAmong("none", "starttls", "implicit");
        var tlsPort = new Option<int>("--tls-port") { Description = "Port for implicit TLS with --tls implicit.", DefaultValueFactory = _ => 4650 };
        var user = new Option<string?>("--user") { Description = $"An account for AUTH PLAIN/LOGIN; its password comes from {ServerPasswordVariable} or a prompt." };
        var requireAuth = new Option<bool>("--require-auth") { Description = "Refuse mail until the client has authenticated." };
        var plaintextAuth = new Option<bool>("--allow-plaintext-auth") { Description = "Offer AUTH without TLS too (passwords then cross the network in clear; with --tls none it is the only way to log in)." };
        var perAddress = new Option<int>("--max-sessions-per-address") { Description = "Sessions at once from one client address (the rest of the room is still served).", DefaultValueFactory = _ => new LocalMailServerOptions().MaxSessionsPerAddress };
        var store = new Option<string?>("--store") { Description = "Also save every accepted message as a .eml file in this folder." };
        var domains = new Option<string[]>("--domain") { Description = "Domains to accept mail for (no relaying elsewhere).", DefaultValueFactory = _ => ["localhost", "netlabs.test"], AllowMultipleArgumentsPerToken = true };
        var command = new Command("serve", "Run the lab's mail server; prints a line per accepted message (and per refused session or login). Ctrl+C stops it.")
        {
            port, bind, tls, tlsPort, user, requireAuth, plaintextAuth, perAddress, store, domains,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var mode = result.GetValue(tls)!;
            var account = result.GetValue(user);
            var allowPlaintext = result.GetValue(plaintextAuth);
            if (account is null && result.GetValue(requireAuth)) throw new CliFailure("--require-auth needs an account: add --user NAME.", 2);
            if (account is not null && mode == "none" && !allowPlaintext)
                throw new CliFailure("--user with --tls none would take passwords in clear: use --tls starttls (the default), or add --allow-plaintext-auth on a network you trust.", 2);
            if (account is not null && (account.Length == 0 || account.Any(char.IsControl)))
                throw new CliFailure($"--user '{account}' is not a user name.", 2);
            if (result.GetValue(perAddress) < 1) throw new CliFailure("--max-sessions-per-address must be at least 1.", 2);
            var badDomain = result.GetValue(domains)!.FirstOrDefault(d => !IsDomain(d));
            if (badDomain is not null) throw new CliFailure($"--domain '{badDomain}' is not a domain name (e.g. netlabs.test).", 2);
            var accounts = new Dictionary<string, string>();
            if (account is not null) accounts[account] = Secrets.Password(ServerPasswordVariable, $"password for {account}: ");
            await using var server = LocalMailServer.Start(new LocalMailServerOptions
            {
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Port = result.GetValue(port),
                EnableStartTls = mode != "none",
                ImplicitTlsPort = mode == "implicit" ? result.GetValue(tlsPort) : null,
                Accounts = accounts,
                RequireAuthentication = result.GetValue(requireAuth),
                AllowAuthenticationWithoutTls = allowPlaintext,
                MaxSessionsPerAddress = result.GetValue(perAddress),
                EmlDirectory = result.GetValue(store),
                Domains = result.GetValue(domains)!,
            });
            // One line per log entry, printed as it happens on the session that made it: nothing is skipped however the
            // sessions overlap (Console.Out is synchronized, so lines never interleave).
            server.Logged += entry => Terminal.Line(entry.ToString());
            Terminal.Line($"mail server listening on {server.Host}:{server.Port}{(mode == "none" ? "" : " (STARTTLS)")}"
                          + (server.ImplicitTlsPort is { } p ? $", implicit TLS on {server.Host}:{p}" : ""));
            if (server.CertificateSha256 is { } fingerprint)
                Terminal.Line($"certificate SHA-256 {fingerprint} (clients trust it with: netlabs mail send … --trust {fingerprint})");
            await CliRunner.UntilStoppedAsync(ct);
            await server.StopAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            Terminal.Line($"mail server stopped after {server.Counters.MessagesAccepted} message(s).");
            return 0;
        }, cancellationToken));
        return command;
    }

    private static bool IsDomain(string text) =>
        text.Length is > 0 and <= 253 && !text.StartsWith('.') && !text.EndsWith('.') && !text.Contains("..")
        && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');

    private static Command Send()
    {
        var server = new Option<string>("--server") { Description = "HOST:PORT of the mail server.", Required = true };
        var from = new Option<string>("--from") { Description = "Sender address (MAIL FROM).", Required = true };
        var to = new Option<string[]>("--to") { Description = "Recipient address(es) (RCPT TO).", Required = true, AllowMultipleArgumentsPerToken = true };
        var subject = new Option<string>("--subject") { DefaultValueFactory = _ => "Hello from NetLabs" };
        var body = new Option<string>("--body") { DefaultValueFactory = _ => "I love computer networks!" };
        var images = new Option<string[]>("--image") { Description = "Image file(s) to show inline in the message (cid:).", AllowMultipleArgumentsPerToken = true };
        var startTls = new Option<bool>("--starttls") { Description = "Upgrade to TLS with STARTTLS first (submission, port 587)." };
        var implicitTls = new Option<bool>("--tls") { Description = "TLS from the first byte (port 465)." };
        var user = new Option<string?>("--user") { Description = $"Authenticate as this user (needs --starttls or --tls); the password comes from {ClientPasswordVariable} or a prompt." };
        var plaintextAuth = new Option<bool>("--allow-plaintext-auth") { Description = "Let --user send the password without TLS, readable by anyone on the path." };
        var trust = new Option<string?>("--trust") { Description = "SHA-256 fingerprint of a self-signed server certificate to trust (the lab server prints it)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds one step may take (up to 3600).", DefaultValueFactory = _ => 30 };
        var command = new Command("send", "Send one message with the lab's raw-socket SMTP client and print the dialogue.")
        {
            server, from, to, subject, body, images, startTls, implicitTls, user, plaintextAuth, trust, timeout,
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            if (result.GetValue(startTls) && result.GetValue(implicitTls)) throw new CliFailure("choose one of --starttls and --tls.", 2);
            var (host, port) = HostAndPort(result.GetValue(server)!);
            var seconds = result.GetValue(timeout);
            if (!double.IsFinite(seconds) || seconds <= 0 || seconds > 3600) throw new CliFailure($"--timeout {seconds} is not a number of seconds between 0 and 3600.", 2);
            var sender = Mailbox(result.GetValue(from)!, "--from");
            var recipients = result.GetValue(to)!.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Select(t => Mailbox(t, "--to")).ToArray();
            if (recipients.Length == 0) throw new CliFailure("--to needs at least one address.", 2);
            var fingerprint = result.GetValue(trust);
            if (fingerprint is not null && !IsSha256(fingerprint)) throw new CliFailure($"--trust '{fingerprint}' is not a SHA-256 fingerprint (64 hex digits, as mail serve prints it).", 2);
            var imagePaths = result.GetValue(images) ?? [];
            foreach (var image in imagePaths.Where(i => !File.Exists(i))) throw new CliFailure($"image not found: {image}", 2);
            var security = result.GetValue(implicitTls) ? SmtpSecurity.ImplicitTls : result.GetValue(startTls) ? SmtpSecurity.StartTls : SmtpSecurity.None;
            var account = result.GetValue(user);
            var allowPlaintext = result.GetValue(plaintextAuth);
            if (account is not null && security == SmtpSecurity.None && !allowPlaintext)
                throw new CliFailure("--user without --starttls or --tls would send the password in clear: add --starttls (or --tls), or --allow-plaintext-auth on a network you trust.", 2);
            var message = imagePaths.Length == 0
                ? MailMessages.PlainText(sender, recipients[0], result.GetValue(subject)!, result.GetValue(body)!)
                : MailMessages.TextWithImages(sender, recipients[0], result.GetValue(subject)!, result.GetValue(body)!, imagePaths);
            foreach (var extra in recipients.Skip(1)) message.To.Add(MimeKit.MailboxAddress.Parse(extra));
            var address = new SmtpServerAddress(host, port, security)
            {
                User = account,
                Password = account is null ? null : Secrets.Password(ClientPasswordVariable, $"password for {account}: "),
            };
            var options = new SmtpClientOptions
            {
                TrustedCertificateSha256 = fingerprint,
                Timeout = TimeSpan.FromSeconds(seconds),
                AllowPlaintextAuthentication = allowPlaintext,
            };
            await using var captured = await capture.StartAsync(result, host, $"tcp port {port}", ct);
            try
            {
                var transcript = await Terminal.WhileAsync($"talking to {host}:{port} …", () => SmtpDialogue.SendAsync(address, message, options, ct));
                Terminal.Line(transcript.ToString());
                Terminal.Styled($"sent to {string.Join(", ", recipients)}", "green");
                return 0;
            }
            catch (SmtpCommandException refused)
            {
                Terminal.Line(refused.Transcript.ToString());
                throw new CliFailure($"the mail server refused {refused.Command.Split(' ')[0]}: {refused.Reply.Code} {string.Join(" ", refused.Reply.Lines)}");
            }
        }, cancellationToken));
        return command;
    }

    /// <summary>A bare address (a@b.c) for the envelope, or a one-line error naming the option.</summary>
    private static string Mailbox(string text, string option) =>
        MimeKit.MailboxAddress.TryParse(text, out var mailbox) && mailbox.Address.IndexOf('@') > 0 && !mailbox.Address.EndsWith('@')
            ? mailbox.Address
            : throw new CliFailure($"{option} '{text}' is not a mail address (e.g. alice@netlabs.test).", 2);

    private static bool IsSha256(string text)
    {
        var hex = text.Replace(":", "");
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit);
    }

    private static (string Host, int Port) HostAndPort(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 1 or > 65535)
            throw new CliFailure($"--server '{text}' is not HOST:PORT (e.g. 192.168.1.10:2525).", 2);
        return (text[..colon].Trim('[', ']'), port);
    }
}

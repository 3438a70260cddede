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
        var port = new Option<int>("--port") { Description = "Port for SMTP with STARTTLS (0 = any free port).", DefaultValueFactory = _ => 2525 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var tls = new Option<string>("--tls") { Description = "none, starttls, or implicit (STARTTLS plus TLS from the first byte on --tls-port).", DefaultValueFactory = _ => "starttls" };
        tls.AcceptOnlyFromAmong("none", "starttls", "implicit");
        var tlsPort = new Option<int>("--tls-port") { Description = "Port for implicit TLS with --tls implicit.", DefaultValueFactory = _ => 4650 };
        var user = new Option<string?>("--user") { Description = $"An account for AUTH PLAIN/LOGIN; its password comes from {ServerPasswordVariable} or a prompt." };
        var requireAuth = new Option<bool>("--require-auth") { Description = "Refuse mail until the client has authenticated." };
        var store = new Option<string?>("--store") { Description = "Also save every accepted message as a .eml file in this folder." };
        var domains = new Option<string[]>("--domain") { Description = "Domains to accept mail for (no relaying elsewhere).", DefaultValueFactory = _ => ["localhost", "netlabs.test"], AllowMultipleArgumentsPerToken = true };
        var command = new Command("serve", "Run the lab's mail server; prints a line per accepted message. Ctrl+C stops it.")
        {
            port, bind, tls, tlsPort, user, requireAuth, store, domains,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var mode = result.GetValue(tls)!;
            var account = result.GetValue(user);
            var accounts = new Dictionary<string, string>();
            if (account is not null) accounts[account] = Secrets.Password(ServerPasswordVariable, $"password for {account}: ");
            else if (result.GetValue(requireAuth)) throw new CliFailure("--require-auth needs an account: add --user NAME.", 2);
            await using var server = LocalMailServer.Start(new LocalMailServerOptions
            {
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Port = result.GetValue(port),
                EnableStartTls = mode != "none",
                ImplicitTlsPort = mode == "implicit" ? result.GetValue(tlsPort) : null,
                Accounts = accounts,
                RequireAuthentication = result.GetValue(requireAuth),
                AllowAuthenticationWithoutTls = mode == "none",
                EmlDirectory = result.GetValue(store),
                Domains = result.GetValue(domains)!,
            });
            Terminal.Line($"mail server listening on {server.Host}:{server.Port}{(mode == "none" ? "" : " (STARTTLS)")}"
                          + (server.ImplicitTlsPort is { } p ? $", implicit TLS on {server.Host}:{p}" : ""));
            if (server.CertificateSha256 is { } fingerprint)
                Terminal.Line($"certificate SHA-256 {fingerprint} (clients trust it with: netlabs mail send … --trust {fingerprint})");
            CliRunner.PrintStopHint();
            long shown = 0;
            try
            {
                while (true)
                {
                    await server.WaitForAcceptedAsync(shown + 1, ct);
                    foreach (var message in server.Messages.Where(m => m.Id > shown).OrderBy(m => m.Id))
                    {
                        Terminal.Line($"{message.ReceivedAt:HH:mm:ss} accepted #{message.Id} from {message.Envelope.From} to {string.Join(", ", message.Envelope.To)} " +
                                      $"({message.Raw.Length} bytes{(message.WasSecure ? ", TLS" : "")}{(message.AuthenticatedUser is { } u ? ", user " + u : "")}) from {message.RemoteEndPoint}");
                        shown = Math.Max(shown, message.Id);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await server.StopAsync(TimeSpan.FromSeconds(5));
                Terminal.Line($"mail server stopped after {server.AcceptedCount} message(s).");
                return 0;
            }
        }, cancellationToken));
        return command;
    }

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
        var user = new Option<string?>("--user") { Description = $"Authenticate as this user; the password comes from {ClientPasswordVariable} or a prompt." };
        var trust = new Option<string?>("--trust") { Description = "SHA-256 fingerprint of a self-signed server certificate to trust (the lab server prints it)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds one step may take.", DefaultValueFactory = _ => 30 };
        var command = new Command("send", "Send one message with the lab's raw-socket SMTP client and print the dialogue.")
        {
            server, from, to, subject, body, images, startTls, implicitTls, user, trust, timeout,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            if (result.GetValue(startTls) && result.GetValue(implicitTls)) throw new CliFailure("choose one of --starttls and --tls.", 2);
            var (host, port) = HostAndPort(result.GetValue(server)!);
            var recipients = result.GetValue(to)!;
            var imagePaths = result.GetValue(images) ?? [];
            foreach (var image in imagePaths.Where(i => !File.Exists(i))) throw new CliFailure($"image not found: {image}", 2);
            var message = imagePaths.Length == 0
                ? MailMessages.PlainText(result.GetValue(from)!, recipients[0], result.GetValue(subject)!, result.GetValue(body)!)
                : MailMessages.TextWithImages(result.GetValue(from)!, recipients[0], result.GetValue(subject)!, result.GetValue(body)!, imagePaths);
            foreach (var extra in recipients.Skip(1)) message.To.Add(MimeKit.MailboxAddress.Parse(extra));
            var account = result.GetValue(user);
            var address = new SmtpServerAddress(host, port,
                result.GetValue(implicitTls) ? SmtpSecurity.ImplicitTls : result.GetValue(startTls) ? SmtpSecurity.StartTls : SmtpSecurity.None)
            {
                User = account,
                Password = account is null ? null : Secrets.Password(ClientPasswordVariable, $"password for {account}: "),
            };
            var options = new SmtpClientOptions { TrustedCertificateSha256 = result.GetValue(trust), Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)) };
            try
            {
                var transcript = await Terminal.WhileAsync($"talking to {host}:{port} …", () => SmtpDialogue.SendAsync(address, message, options, cancellationToken: ct));
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

    private static (string Host, int Port) HostAndPort(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 1 or > 65535)
            throw new CliFailure($"--server '{text}' is not HOST:PORT (e.g. 192.168.1.10:2525).", 2);
        return (text[..colon].Trim('[', ']'), port);
    }
}

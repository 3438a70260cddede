using System.Text.RegularExpressions;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Cli;

/// <summary>`netlabs mail serve` and `netlabs mail send` as a teacher and an outside tester use them (issue 11).</summary>
public sealed class MailCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Mail_serve_prints_one_line_per_accepted_message_when_sessions_overlap()
    {
        var source = ExternalProcess.Require("smtp-source", "postfix");
        await using var server = NetlabsTool.Start("mail", "serve", "--port", "0", "--tls", "none");
        var port = CliCommandTests.PortIn(await server.WaitForLineAsync(l => l.StartsWith("mail server listening"), Wait));
        // 200 messages over 8 sessions at once, a new connection for each: the outside tester saw 130–149 lines.
        var sent = await ExternalProcess.RunAsync(source,
            ["-s", "8", "-m", "200", "-l", "1024", "-f", "alice@localhost", "-t", "bob@localhost", "-M", "source.localhost", $"127.0.0.1:{port}"], Wait);
        Assert.True(sent.ExitCode == 0, sent.ToString());
        // Every line is printed before its client gets the 250, so all 200 are written once smtp-source is done; this test
        // reads them through a pipe on its own threads, so it gives that pipe a bounded moment to deliver them.
        int[] accepted = [];
        for (var deadline = DateTime.UtcNow + Wait; DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            accepted = Regex.Matches(server.Output, @"^\d\d:\d\d:\d\d accepted #(\d+) from alice@localhost to bob@localhost", RegexOptions.Multiline)
                .Select(m => int.Parse(m.Groups[1].Value)).Order().ToArray();
            if (accepted.Length >= 200) break;
        }
        Assert.True(accepted.SequenceEqual(Enumerable.Range(1, 200)), $"{accepted.Length} accepted lines\n{server.Output}");
        await CliCommandTests.StopCleanlyAsync(server, "mail server stopped after 200 message(s).");
    }

    [Fact]
    public async Task Mail_send_refuses_to_send_a_password_in_clear_unless_told_to()
    {
        var password = Guid.NewGuid().ToString("N");
        var withPassword = new Dictionary<string, string> { ["NETLABS_SMTP_PASSWORD"] = password, ["NETLABS_MAIL_PASSWORD"] = password };
        string[] send = ["mail", "send", "--from", "alice@netlabs.test", "--to", "bob@netlabs.test", "--user", "alice"];

        // The server side: --tls none with an account needs the same explicit opt-in.
        var clearServer = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments("mail", "serve", "--port", "0", "--tls", "none", "--user", "alice"), Wait, environment: withPassword);
        Assert.Equal(2, clearServer.ExitCode);
        Assert.Equal("netlabs: --user with --tls none would take passwords in clear: use --tls starttls (the default), or add --allow-plaintext-auth on a network you trust.", clearServer.StandardError.Trim());

        await using var server = BackgroundProcess.Start("dotnet",
            NetlabsTool.Arguments("mail", "serve", "--port", "0", "--tls", "none", "--user", "alice", "--allow-plaintext-auth"), environment: withPassword);
        var port = CliCommandTests.PortIn(await server.WaitForLineAsync(l => l.StartsWith("mail server listening"), Wait));

        var refused = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments([.. send, "--server", $"127.0.0.1:{port}"]), Wait, environment: withPassword);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal("netlabs: --user without --starttls or --tls would send the password in clear: add --starttls (or --tls), or --allow-plaintext-auth on a network you trust.", refused.StandardError.Trim());
        Assert.Equal("", refused.StandardOutput);

        var opted = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments([.. send, "--server", $"127.0.0.1:{port}", "--allow-plaintext-auth"]), Wait, environment: withPassword);
        Assert.True(opted.ExitCode == 0, opted.ToString());
        Assert.Contains("C: AUTH PLAIN ***", opted.StandardOutput);
        Assert.DoesNotContain(password, opted.StandardOutput + opted.StandardError + server.Output);
        await server.WaitForLineAsync(l => l.Contains("accepted #1 from alice@netlabs.test") && l.Contains("user alice"), Wait);
        await CliCommandTests.StopCleanlyAsync(server, "mail server stopped after 1 message(s).");
    }

    [Theory]
    [InlineData(2, "--timeout 1000000000000 is not a number of seconds between 0 and 3600", "mail", "send", "--server", "127.0.0.1:2525", "--from", "a@netlabs.test", "--to", "b@netlabs.test", "--timeout", "1e12")]
    [InlineData(2, "--timeout -1 is not a number of seconds", "mail", "send", "--server", "127.0.0.1:2525", "--from", "a@netlabs.test", "--to", "b@netlabs.test", "--timeout", "-1")]
    [InlineData(2, "--timeout 0 is not a number of seconds", "mail", "send", "--server", "127.0.0.1:2525", "--from", "a@netlabs.test", "--to", "b@netlabs.test", "--timeout", "0")]
    [InlineData(2, "--from 'not an address' is not a mail address", "mail", "send", "--server", "127.0.0.1:2525", "--from", "not an address", "--to", "b@netlabs.test")]
    [InlineData(2, "--to 'b@' is not a mail address", "mail", "send", "--server", "127.0.0.1:2525", "--from", "a@netlabs.test", "--to", "b@")]
    [InlineData(2, "--trust 'xyz' is not a SHA-256 fingerprint", "mail", "send", "--server", "127.0.0.1:2525", "--from", "a@netlabs.test", "--to", "b@netlabs.test", "--trust", "xyz")]
    [InlineData(2, "--server '127.0.0.1:99999' is not HOST:PORT", "mail", "send", "--server", "127.0.0.1:99999", "--from", "a@netlabs.test", "--to", "b@netlabs.test")]
    [InlineData(2, "--domain 'not a domain' is not a domain name", "mail", "serve", "--port", "0", "--domain", "not a domain")]
    [InlineData(2, "--max-sessions-per-address must be at least 1", "mail", "serve", "--port", "0", "--max-sessions-per-address", "0")]
    [InlineData(2, "--bind 'here' is not an IP address", "mail", "serve", "--port", "0", "--bind", "here")]
    [InlineData(1, "Port 70000 does not exist", "mail", "serve", "--port", "70000")]
    [InlineData(1, "Port 70000 does not exist", "mail", "serve", "--port", "0", "--tls", "implicit", "--tls-port", "70000")]
    public async Task Every_mail_option_is_checked_with_a_one_line_error(int exitCode, string expected, params string[] arguments)
    {
        var result = await NetlabsTool.RunAsync(Wait, arguments);
        Assert.True(result.ExitCode == exitCode, result.ToString());
        var error = result.StandardError.Trim();
        Assert.Single(error.Split('\n'));
        Assert.StartsWith("netlabs: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("Unhandled", error);
    }
}

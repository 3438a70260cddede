using System.Net;
using System.Net.Sockets;
using NetLabs.Checks;
using NetLabs.Checks.Grading;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Web;

namespace NetLabs.Tests.Student;

/// <summary>
/// The grading bridge without a kernel: a student's function offered by <see cref="StudentHost"/> on loopback, the
/// lab's battery run by the judge through <see cref="RemoteGap"/>. Across the bridge our own implementations get full
/// marks, a stub gets none, and a careless dialogue gets exactly the verdicts it gets in-process.
/// </summary>
public sealed class GradingBridgeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    private static async Task<ReportCard> JudgeAsync(string lab, ConnectionHandler? web = null, PingExchange? ping = null, MailTransaction? mail = null)
    {
        var exchange = Directory.CreateTempSubdirectory("netlabs-exchange-");
        var judge = new TcpListener(IPAddress.Loopback, 0);
        judge.Start();
        try
        {
            var hosting = StudentHost.ServeAsync(web, ping, mail, (IPEndPoint)judge.LocalEndpoint, CancellationToken.None);
            using var kernel = await judge.AcceptTcpClientAsync().WaitAsync(Bound);
            var card = await RemoteGap.JudgeAsync(kernel, lab, exchange.FullName, CancellationToken.None).WaitAsync(Bound);
            // The kernel is told the judge's card, to show it.
            Assert.Equal(card.ToString(), await hosting.WaitAsync(Bound));
            return card;
        }
        finally
        {
            judge.Stop();
            exchange.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Our_handler_gets_full_marks_and_a_stub_none_across_the_bridge()
    {
        var ours = await JudgeAsync(WebStudentChecks.Lab, web: connection => new StaticFileHandler(connection.Options, connection.RealRoot).HandleConnectionAsync(connection));
        Assert.True(ours.AllPassed && ours.Passed == 6, ours.ToString());
        var stub = await JudgeAsync(WebStudentChecks.Lab, web: _ => throw new NotImplementedException("Fill in handle-connection"));
        Assert.Equal((0, 6), (stub.Passed, stub.Failed));
    }

    [Fact]
    public async Task Our_ping_gets_full_marks_across_the_bridge()
    {
        var card = await JudgeAsync(PingStudentChecks.Lab, ping: async (request, token) =>
        {
            await using var client = new PingClient(new PingClientOptions(request.Server) { Timeout = request.Timeout });
            return await client.ExchangeAsync(request, token);
        });
        Assert.True(card.AllPassed && card.Passed == 4, card.ToString());
    }

    [Fact]
    public async Task Mail_verdicts_are_the_same_across_the_bridge_as_in_process()
    {
        var ours = await JudgeAsync(MailStudentChecks.Lab, mail: SmtpDialogue.SendAsync);
        Assert.True(ours.AllPassed && ours.Passed == 5, ours.ToString());

        var stub = await JudgeAsync(MailStudentChecks.Lab, mail: (_, _, _, _) => throw new NotImplementedException("Fill in smtp-dialogue"));
        Assert.Equal((0, 5), (stub.Passed, stub.Failed));
        Assert.All(stub.Results, r => Assert.Equal("not written yet (Fill in smtp-dialogue)", r.Detail));

        // Every command sent without looking at the codes, the message without dot-stuffing.
        MailTransaction careless = async (client, envelope, message, token) =>
        {
            await client.SendCommandAsync($"MAIL FROM:<{envelope.From}>", cancellationToken: token);
            foreach (var to in envelope.To) await client.SendCommandAsync($"RCPT TO:<{to}>", cancellationToken: token);
            await client.SendCommandAsync("DATA", cancellationToken: token);
            await client.SendRawAsync(message, token);
            await client.SendRawAsync(".\r\n"u8.ToArray(), token);
            return await client.ReadReplyAsync(token);
        };
        var inProcess = await MailStudentChecks.RunAsync(careless).WaitAsync(Bound);
        var bridged = await JudgeAsync(MailStudentChecks.Lab, mail: careless);
        Assert.Equal(inProcess.Results.Select(r => (r.Name, r.Passed)), bridged.Results.Select(r => (r.Name, r.Passed)));
        Assert.Equal("report card 03-smtp: 3 passed, 2 failed", bridged.SummaryLine);
    }
}

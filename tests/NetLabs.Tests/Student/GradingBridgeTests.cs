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

    private static async Task<ReportCard> JudgeAsync(string lab, ConnectionHandler? web = null, PingExchange? ping = null, SmtpClientDialogue? mail = null)
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
        Assert.True(ours.AllPassed && ours.Passed == 7, ours.ToString());
        var stub = await JudgeAsync(WebStudentChecks.Lab, web: _ => throw new NotImplementedException("Fill in handle-connection"));
        Assert.Equal((0, 7), (stub.Passed, stub.Failed));
    }

    [Fact]
    public async Task A_correct_ping_gets_full_marks_across_the_bridge_and_a_new_socket_per_ping_fails_as_in_process()
    {
        var correct = await JudgeAsync(PingStudentChecks.Lab, ping: PingStudentCheckTests.Solutions.Async);
        Assert.True(correct.AllPassed && correct.Passed == 4, correct.ToString());

        // The student's socket lives in the graded kernel: "sent on the socket you were given" must still be judged on it.
        var newSocketPerPing = await JudgeAsync(PingStudentChecks.Lab, ping: PingStudentCheckTests.Solutions.NewSocketPerPing);
        Assert.False(newSocketPerPing.Results[0].Passed, newSocketPerPing.ToString());
        Assert.Contains("socket you were given", newSocketPerPing.Results[0].Detail);
    }

    [Fact]
    public async Task Mail_verdicts_are_the_same_across_the_bridge_as_in_process()
    {
        var ours = await JudgeAsync(MailStudentChecks.Lab, mail: SmtpDialogue.RunAsync);
        Assert.True(ours.AllPassed && ours.Passed == 5, ours.ToString());

        var stub = await JudgeAsync(MailStudentChecks.Lab, mail: (_, _, _, _) => throw new NotImplementedException("Fill in smtp-dialogue"));
        Assert.Equal((0, 5), (stub.Passed, stub.Failed));
        Assert.All(stub.Results, r => Assert.Equal("not written yet (Fill in smtp-dialogue)", r.Detail));

        // One read per reply, no dot-stuffing: the relay passes the server's reply lines with their pauses, so the
        // bridged card fails the same rows as the in-process one.
        var careless = MailStudentCheckTests.OneReadPerReply(stuff: false);
        var inProcess = await MailStudentChecks.RunAsync(careless).WaitAsync(Bound);
        var bridged = await JudgeAsync(MailStudentChecks.Lab, mail: careless);
        Assert.False(bridged.AllPassed, bridged.ToString());
        Assert.Equal(inProcess.Results.Select(r => (r.Name, r.Passed)), bridged.Results.Select(r => (r.Name, r.Passed)));
    }
}

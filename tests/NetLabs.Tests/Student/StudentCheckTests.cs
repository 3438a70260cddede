using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Web;

namespace NetLabs.Tests.Student;

/// <summary>
/// The student batteries against our own implementations (every check passes) and against deliberately broken ones
/// (the right check fails, with its hint, and nothing escapes or hangs).
/// </summary>
public sealed class StudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static CheckResult Row(ReportCard card, string nameStart) => Assert.Single(card.Results, r => r.Name.StartsWith(nameStart, StringComparison.Ordinal));

    private static void AssertFailed(ReportCard card, string nameStart, string? detailContains = null)
    {
        var row = Row(card, nameStart);
        Assert.False(row.Passed, card.ToString());
        Assert.False(string.IsNullOrWhiteSpace(row.Hint));
        if (detailContains is not null) Assert.Contains(detailContains, row.Detail);
    }

    // ---- web ----

    [Fact]
    public async Task Web_checks_pass_for_our_StaticFileHandler()
    {
        ConnectionHandler ours = connection => new StaticFileHandler(connection.Options, connection.RealRoot).HandleConnectionAsync(connection);
        var card = await WebStudentChecks.RunAsync(ours).WaitAsync(Bound);
        Assert.True(card.AllPassed, card.ToString());
        Assert.Equal(7, card.Passed);
        Assert.Equal("report card 01-web-server: 7 passed, 0 failed", card.SummaryLine);
        Assert.Contains("report card 01-web-server: 7 passed, 0 failed", card.ToHtml());
    }

    [Fact]
    public async Task Web_checks_of_an_empty_gap_fail_every_row_without_throwing()
    {
        var card = await WebStudentChecks.RunAsync(_ => throw new NotImplementedException("Fill in handle-connection")).WaitAsync(Bound);
        Assert.Equal(0, card.Passed);
        Assert.Equal(7, card.Failed);
        Assert.All(card.Results, r => Assert.Equal("not written yet (Fill in handle-connection)", r.Detail));
        Assert.True(ReportCard.TryParseSummary(card.ToString().Split('\n')[0], out var lab, out var passed, out var failed));
        Assert.Equal(("01-web-server", 0, 7), (lab, passed, failed));
    }

    [Fact]
    public async Task Web_checks_name_text_decoding_missing_404_and_traversal()
    {
        // The reference report's server: the file read as text, any path opened, the exception when it is missing.
        ConnectionHandler naive = async connection =>
        {
            var buffer = new byte[4096];
            var n = await connection.Stream.ReadAsync(buffer);
            var target = Encoding.ASCII.GetString(buffer, 0, n).Split("\r\n")[0].Split(' ')[1];
            var text = await File.ReadAllTextAsync(connection.RealRoot + target);
            var body = Encoding.UTF8.GetBytes(text);
            await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await connection.Stream.WriteAsync(body);
        };
        var card = await WebStudentChecks.RunAsync(naive).WaitAsync(Bound);
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
        AssertFailed(card, "a binary image", "not the same bytes");
        AssertFailed(card, "404", "FileNotFoundException");
        AssertFailed(card, "a path that climbs out", "sent a file outside the served folder");
        AssertFailed(card, "HEAD", "bytes of body came after the head");
        AssertFailed(card, "two clients at once");
    }

    [Fact]
    public async Task Web_check_gives_up_on_a_handler_that_never_returns_and_the_card_still_comes()
    {
        ConnectionHandler stuck = async connection => await Task.Delay(Timeout.Infinite);
        var checks = WebStudentChecks.Checks(stuck).Take(1).Select(c => c with { Timeout = TimeSpan.FromSeconds(2) });
        var card = await CheckRunner.RunAsync("01-web-server", checks).WaitAsync(Bound);
        var row = Assert.Single(card.Results);
        Assert.False(row.Passed);
        Assert.Contains("gave up after 2 s", row.Detail);
    }

    [Fact]
    public async Task Runner_gives_up_on_a_check_that_ignores_its_token()
    {
        var endless = new StudentCheck("endless loop", "break out of the loop", _ => Task.Run(() => { var spins = 0; while (spins >= 0) { Thread.Sleep(50); spins++; } return ""; }), TimeSpan.FromMilliseconds(200));
        var row = await CheckRunner.RunOneAsync(endless).WaitAsync(Bound);
        Assert.False(row.Passed);
        Assert.Contains("never finished", row.Detail);
    }
}

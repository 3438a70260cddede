using System.Net.Sockets;
using System.Text;
using NetLabs.Checks;
using NetLabs.Web;

namespace NetLabs.Tests.Student;

/// <summary>
/// The web lab's report card against plausible student handlers (issue 12, section 2): each wrong one fails the right
/// row for the reason the row names, and correct ones written differently from the reference pass every row.
/// </summary>
public sealed class WebStudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static async Task<ReportCard> CardAsync(ConnectionHandler handler) => await WebStudentChecks.RunAsync(handler).WaitAsync(Bound);

    /// <summary>Only the rows a wrong handler is about (whole cards for the correct ones): the tests stay quick.</summary>
    private static async Task<ReportCard> RowsAsync(ConnectionHandler handler, params string[] nameStarts) =>
        await CheckRunner.RunAsync(WebStudentChecks.Lab, WebStudentChecks.Checks(handler).Where(c => nameStarts.Any(n => c.Name.StartsWith(n, StringComparison.Ordinal)))).WaitAsync(Bound);

    private static CheckResult Row(ReportCard card, string nameStart) => Assert.Single(card.Results, r => r.Name.StartsWith(nameStart, StringComparison.Ordinal));

    private static void AssertFailed(ReportCard card, string nameStart, params string[] detailContains)
    {
        var row = Row(card, nameStart);
        Assert.False(row.Passed, card.ToString());
        Assert.False(string.IsNullOrWhiteSpace(row.Hint));
        foreach (var part in detailContains) Assert.Contains(part, row.Detail);
    }

    // ---- what the student handlers below share: the parts that are not the bug under test ----

    /// <summary>The file for a path under the root, or null when it is outside (the correct check: full path, root + separator).</summary>
    private static string? Inside(string realRoot, string path)
    {
        var root = Path.GetFullPath(realRoot);
        var file = Path.GetFullPath(Path.Join(root, path));
        return file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? file : null;
    }

    private static async Task<string> ReadHeadAsync(Stream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[1024];
        while (!Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n"))
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0) break;
            received.Write(buffer, 0, n);
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Status, Content-Type and body for a file, as a correct handler finds them (404 when missing, 403 outside).</summary>
    private static async Task<(int Status, string Type, byte[] Body)> AnswerAsync(string realRoot, string path, Func<string, string, string?> inside)
    {
        if (inside(realRoot, path) is not { } file) return (403, "text/html", HttpResponseHead.ErrorPage(403));
        if (!File.Exists(file)) return (404, "text/html", HttpResponseHead.ErrorPage(404));
        return (200, MimeTypes.For(file), await File.ReadAllBytesAsync(file));
    }

    private static ConnectionHandler Handler(Func<Stream, Task<string>> readHead, Func<string, string, string?> inside, string lineEnd = "\r\n",
        bool contentLength = true, bool holdOpen = false) => async connection =>
    {
        var head = await readHead(connection.Stream);
        var requestLine = head.Split('\n')[0].TrimEnd('\r').Split(' ');
        var (status, type, body) = await AnswerAsync(connection.RealRoot, requestLine[1], inside);
        var response = $"HTTP/1.1 {status} {HttpResponseHead.Reason(status)}{lineEnd}Content-Type: {type}{lineEnd}"
            + (contentLength ? $"Content-Length: {body.Length}{lineEnd}" : "") + (holdOpen ? "" : $"Connection: close{lineEnd}") + lineEnd;
        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(response));
        if (requestLine[0] != "HEAD") await connection.Stream.WriteAsync(body);
        if (holdOpen) _ = await connection.Stream.ReadAsync(new byte[1]); // waits for a next request that never comes
    };

    // ---- correct, written differently from the reference ----

    [Fact]
    public async Task A_stream_handler_that_checks_the_path_with_GetRelativePath_passes_every_row()
    {
        // Reads with a StreamReader-like loop over the Stream; the path check asks whether the relative path climbs out.
        static string? ByRelativePath(string realRoot, string path)
        {
            var file = Path.GetFullPath(Path.Join(realRoot, Uri.UnescapeDataString(path)));
            var relative = Path.GetRelativePath(realRoot, file);
            return relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative) ? null : file;
        }
        var card = await CardAsync(Handler(ReadHeadAsync, ByRelativePath));
        Assert.True(card.AllPassed, card.ToString());
        Assert.Equal(7, card.Passed);
    }

    [Fact]
    public async Task A_socket_handler_that_receives_into_one_growing_buffer_and_sends_once_passes_every_row()
    {
        ConnectionHandler handler = async connection =>
        {
            var buffer = new byte[8192];
            var filled = 0;
            int end;
            while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                var n = await connection.Socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
                if (n == 0 || (filled += n) == buffer.Length) return;
            }
            var words = Encoding.ASCII.GetString(buffer, 0, end).Split("\r\n")[0].Split(' ');
            var (status, type, body) = await AnswerAsync(connection.RealRoot, words[1], Inside);
            var response = new MemoryStream();
            response.Write(Encoding.ASCII.GetBytes($"HTTP/1.0 {status} {HttpResponseHead.Reason(status)}\r\nContent-Length: {body.Length}\r\nContent-Type: {type}\r\n\r\n"));
            if (words[0] == "GET") response.Write(body);
            var bytes = response.ToArray();
            for (var sent = 0; sent < bytes.Length;) sent += await connection.Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        };
        var card = await CardAsync(handler);
        Assert.True(card.AllPassed, card.ToString());
    }

    // ---- wrong, each for its reason ----

    [Fact]
    public async Task A_handler_that_reads_only_the_first_recv_is_told_so()
    {
        static async Task<string> OneRead(Stream stream)
        {
            var buffer = new byte[4096];
            var n = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
        var card = await RowsAsync(Handler(OneRead, Inside), "200 and the exact bytes", "a request that arrives in several pieces");
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
        AssertFailed(card, "a request that arrives in several pieces", "read only the first recv()", "\"GET /ind\"");
    }

    [Fact]
    public async Task No_Content_Length_on_a_connection_left_open_names_Content_Length_and_closing()
    {
        var card = await RowsAsync(Handler(ReadHeadAsync, Inside, contentLength: false, holdOpen: true), "200 and the exact bytes", "404");
        AssertFailed(card, "200 and the exact bytes", "no Content-Length", "stayed open", "close the connection");
        AssertFailed(card, "404", "no Content-Length");
    }

    [Fact]
    public async Task A_complete_answer_on_a_connection_left_open_fails_only_HEAD_for_not_closing()
    {
        // Content-Length given, but the handler waits for a next request although the client asked "Connection: close".
        var card = await RowsAsync(Handler(ReadHeadAsync, Inside, holdOpen: true), "200 and the exact bytes", "a request that arrives in several pieces", "HEAD");
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
        Assert.True(Row(card, "a request that arrives in several pieces").Passed, card.ToString());
        AssertFailed(card, "HEAD", "stayed open", "after the answer");
    }

    [Fact]
    public async Task Without_Content_Length_but_closing_after_the_body_passes_GET()
    {
        // HTTP allows it: the body ends where the server closes. The card must not demand Content-Length then.
        var card = await RowsAsync(Handler(ReadHeadAsync, Inside, contentLength: false), "200 and the exact bytes", "a binary image", "HEAD");
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
        Assert.True(Row(card, "a binary image").Passed, card.ToString());
        AssertFailed(card, "HEAD", "Content-Length");
    }

    [Fact]
    public async Task Bare_line_feeds_are_named_CRLF()
    {
        var card = await RowsAsync(Handler(ReadHeadAsync, Inside, lineEnd: "\n"), "200 and the exact bytes", "404", "HEAD");
        AssertFailed(card, "200 and the exact bytes", "CRLF");
        AssertFailed(card, "404", "CRLF");
        AssertFailed(card, "HEAD", "CRLF");
        Assert.DoesNotContain(card.Results, r => r.Detail.Contains("stayed open", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_path_check_without_the_separator_lets_the_sibling_folder_through()
    {
        static string? StartsWithRoot(string realRoot, string path)
        {
            var file = Path.GetFullPath(Path.Join(realRoot, path));
            return file.StartsWith(Path.GetFullPath(realRoot), StringComparison.Ordinal) ? file : null;
        }
        var card = await RowsAsync(Handler(ReadHeadAsync, StartsWithRoot), "a path that climbs out", "200 and the exact bytes");
        AssertFailed(card, "a path that climbs out", "www-old/secret.txt", "outside the served folder");
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
    }

    [Fact]
    public async Task Refusing_only_dot_dot_lets_an_absolute_path_through_Path_Combine()
    {
        static string? NoDotDot(string realRoot, string path) => path.Contains("..", StringComparison.Ordinal) ? null : Path.Combine(realRoot, path[1..]);
        var card = await RowsAsync(Handler(ReadHeadAsync, NoDotDot), "a path that climbs out", "200 and the exact bytes");
        AssertFailed(card, "a path that climbs out", "outside the served folder");
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
    }

    [Fact]
    public async Task A_handlers_own_TimeoutException_is_reported_as_its_own_not_as_the_checks_timeout()
    {
        // The student's WaitAsync gives up after 0.3 s: the card names the student's exception, not an endless loop.
        var card = await RowsAsync(async connection =>
        {
            await Task.Delay(300);
            throw new TimeoutException("The operation has timed out.");
        }, "200 and the exact bytes");
        AssertFailed(card, "200 and the exact bytes", "your handler's own timeout fired after");
        Assert.DoesNotContain("gave up", Row(card, "200").Detail);
    }

    [Fact]
    public async Task A_handler_that_never_answers_HEAD_is_not_said_to_stay_open_after_an_answer()
    {
        var get = Handler(ReadHeadAsync, Inside);
        var card = await RowsAsync(async connection =>
        {
            // Peek at the method without consuming the request: the rest of the handler reads it whole.
            var peek = new byte[4];
            var n = await connection.Socket.ReceiveAsync(peek, SocketFlags.Peek);
            if (Encoding.ASCII.GetString(peek, 0, n) == "HEAD") await Task.Delay(TimeSpan.FromSeconds(6));
            else await get(connection);
        }, "HEAD", "200 and the exact bytes");
        var head = Row(card, "HEAD");
        Assert.False(head.Passed, card.ToString());
        Assert.DoesNotContain("after the answer", head.Detail);
        Assert.Contains("no answer within", head.Detail);
        Assert.True(Row(card, "200 and the exact bytes").Passed, card.ToString());
    }
}

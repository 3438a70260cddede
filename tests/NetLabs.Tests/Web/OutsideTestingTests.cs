using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Tests.Support;
using NetLabs.Web;
using static NetLabs.Tests.Web.WebTesting;

namespace NetLabs.Tests.Web;

/// <summary>What testing from outside found (issue 11, items 2, 4 and 11), each as it was met.</summary>
public class OutsideTestingTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static string HelloWorld => File.ReadAllText(Path.Combine(Www, "HelloWorld.html"));

    /// <summary>Reads until the server closes; a reset throws (SocketException), as it does in the textbook's client.</summary>
    private static async Task<string> ReadUntilCloseAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Bound)) > 0)
            received.Write(buffer, 0, n);
        return Latin1(received.ToArray());
    }

    private static async Task<Socket> ConnectAsync(WebServer server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Bound);
        return socket;
    }

    // Item 2: the concurrent server reset the kept-alive connections it closed on the idle timeout.

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_idle_kept_alive_connection_is_closed_with_fin_after_its_answer_not_reset(bool readWhileWaiting)
    {
        await using var server = Start(Www, WebServerMode.Concurrent, o => o with { KeepAliveTimeout = TimeSpan.FromMilliseconds(300) });
        using var socket = await ConnectAsync(server);
        await socket.SendAsync("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None); // keeps the connection open
        // The textbook client reads until the server closes; a slower one reads only once the server is done with it.
        if (!readWhileWaiting) Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
        var received = await ReadUntilCloseAsync(socket);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", received);
        Assert.EndsWith(HelloWorld, received);
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0));
        Assert.Single(server.Log); // the idle close is no request
    }

    [SkippableFact]
    public async Task The_textbook_python_client_gets_its_page_from_the_concurrent_server()
    {
        var python = ExternalProcess.Require("python3", "python3");
        await using var server = Start(Www, WebServerMode.Concurrent, o => o with { KeepAliveTimeout = TimeSpan.FromMilliseconds(300) });
        // The lab's client: send one HTTP/1.1 request (no "Connection: close"), read until the server closes, print.
        const string client = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"GET /HelloWorld.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(1024)
                if not chunk:
                    break
                data += chunk
            s.close()
            sys.stdout.write(data.decode("utf-8"))
            """;
        var run = await ExternalProcess.RunAsync(python, ["-c", client, server.Port.ToString()], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.ToString()); // a reset is "ConnectionResetError" and exit 1
        Assert.StartsWith("HTTP/1.1 200 OK", run.StandardOutput);
        Assert.Contains("<h1>Hello world!</h1>", run.StandardOutput);
    }

    [Fact]
    public async Task Stopping_closes_an_idle_kept_alive_connection_with_fin_not_reset()
    {
        var server = Start(Www, WebServerMode.Concurrent, o => o with { KeepAliveTimeout = TimeSpan.FromMinutes(1) });
        using var socket = await ConnectAsync(server);
        await socket.SendAsync("GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None);
        Assert.True(await EventuallyAsync(() => server.Log.Count == 1));
        await server.StopAsync().WaitAsync(Bound);
        Assert.EndsWith(HelloWorld, await ReadUntilCloseAsync(socket));
    }

    // Item 4: one silent client held the sequential server up for everyone, and a TLS ClientHello was held 10 s.

    [Fact]
    public async Task A_tls_client_hello_on_the_plain_port_is_refused_at_once()
    {
        // A long header timeout: an answer within the bound cannot come from a timeout.
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2) });
        byte[] clientHello = [0x16, 0x03, 0x01, 0x00, 0xF1, 0x01, 0x00, 0x00, 0xED, 0x03, 0x03, .. Enumerable.Range(0, 32).Select(i => (byte)(i * 13))];
        using var socket = await ConnectAsync(server);
        await socket.SendAsync(clientHello, SocketFlags.None);
        var received = await ReadUntilCloseAsync(socket);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", received);
        Assert.Contains("Connection: close", received);
        var entry = Assert.Single(await server.AccessLogAsync(1));
        Assert.Equal(400, entry.Status);
        Assert.Contains("TLS", entry.Note);
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html")).StatusCode);
    }

    [SkippableFact]
    public async Task Curl_speaking_https_to_the_plain_port_fails_at_once_and_the_next_client_is_served()
    {
        var curl = ExternalProcess.Require("curl", "curl");
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2) });
        var https = await ExternalProcess.RunAsync(curl, ["-sS", "-k", "--max-time", "20", $"https://127.0.0.1:{server.Port}/HelloWorld.html"], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, https.ExitCode);
        Assert.NotEqual(28, https.ExitCode); // 28: curl's own timeout, what a held connection gave
        Assert.Equal(200, (await server.GetAsync("HelloWorld.html")).StatusCode);
    }

    [Theory]
    [InlineData("\x00\x00\x00\x00")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n")] // a method-like word, then the line: it is not a request line, refused when parsed
    [InlineData("{\"json\": true}")]
    public async Task What_cannot_be_http_is_refused_without_waiting(string bytes)
    {
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2), SequentialIdleTimeout = TimeSpan.FromMinutes(2) });
        using var socket = await ConnectAsync(server);
        await socket.SendAsync(Encoding.Latin1.GetBytes(bytes + (bytes.EndsWith('\n') ? "\r\n" : "")), SocketFlags.None);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", await ReadUntilCloseAsync(socket));
    }

    [Fact]
    public async Task A_silent_client_holds_the_sequential_server_up_only_for_the_idle_timeout()
    {
        // The header timeout alone would hold everyone up for two minutes; the idle timeout lets the next client in.
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2) });
        Assert.Equal(TimeSpan.FromSeconds(1), server.Options.SequentialIdleTimeout);
        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Bound);
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 1));
        var next = await server.GetAsync("HelloWorld.html", new HttpRawRequestOptions { Timeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(200, next.StatusCode);
        Assert.True(await ClosedByServerAsync(silent, Bound));
        Assert.Equal(1, server.Counters.TimedOut);
    }

    [Fact]
    public async Task A_slow_client_that_keeps_sending_is_still_served_sequentially()
    {
        // 20 pieces over 3 s: each pause (0.16 s) is well under the idle timeout, the whole is longer than it. The pauses
        // are the client's Task.Delay on a shared thread pool, which a busy test host can wake up to a second late: the
        // margin is set for that, not for a quiet machine.
        await using var server = Start(Www, WebServerMode.Sequential, o => o with { SequentialIdleTimeout = TimeSpan.FromSeconds(2) });
        var slow = await server.GetAsync("HelloWorld.html", new HttpRawRequestOptions { SendDuration = TimeSpan.FromSeconds(3) });
        Assert.Equal(200, slow.StatusCode);
        Assert.Equal(0, server.Counters.TimedOut);
    }

    [Fact]
    public async Task Silence_is_what_the_client_did_not_send_not_what_a_late_handler_did_not_read()
    {
        // A handler that runs late (a busy machine, a kernel busy drawing a chart) must not blame the client: its bytes
        // wait in the kernel. A client that really sent nothing is still closed after the same silence.
        var late = TimeSpan.FromSeconds(1.2);
        await using var server = Start(Www, WebServerMode.Sequential, o => o with
        {
            Handler = async connection =>
            {
                connection.SetTimeout(TimeSpan.FromMinutes(1), silence: TimeSpan.FromMilliseconds(300));
                await Task.Delay(late);
                var buffer = new byte[4096];
                if (await connection.Socket.ReceiveAsync(buffer, SocketFlags.None) == 0) return; // timed out: end of stream
                await connection.Socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray(), SocketFlags.None);
            },
        });
        var answered = await server.GetAsync("/anything", new HttpRawRequestOptions { Timeout = Bound });
        Assert.Equal("ok", answered.BodyText);
        Assert.Equal(0, server.Counters.TimedOut);

        using var silent = new TcpClient();
        await silent.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Bound);
        Assert.True(await ClosedByServerAsync(silent, Bound));
        Assert.Equal(1, server.Counters.TimedOut);
    }

    // Item 11: "Expect: 100-continue" got neither 100 nor a final status, so curl waited.

    [Theory]
    [InlineData("GET", 200)]
    [InlineData("POST", 405)]
    public async Task Expect_100_continue_gets_100_before_the_body_is_sent(string method, int status)
    {
        await using var server = Start(Www, WebServerMode.Concurrent, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2) });
        using var socket = await ConnectAsync(server);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"{method} /HelloWorld.html HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"), SocketFlags.None);
        var interim = new byte[100];
        var n = await socket.ReceiveAsync(interim, SocketFlags.None).WaitAsync(Bound);
        Assert.Equal("HTTP/1.1 100 Continue\r\n\r\n", Latin1(interim[..n]));
        await socket.SendAsync("0123456789"u8.ToArray(), SocketFlags.None);
        Assert.StartsWith($"HTTP/1.1 {status} ", await ReadUntilCloseAsync(socket));
        Assert.Equal(status, Assert.Single(await server.AccessLogAsync(1)).Status);
    }

    [Fact]
    public async Task A_body_too_large_for_the_server_gets_413_at_once_instead_of_100()
    {
        await using var server = Start(Www, WebServerMode.Concurrent, o => o with { HeaderTimeout = TimeSpan.FromMinutes(2) });
        using var socket = await ConnectAsync(server);
        await socket.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nExpect: 100-continue\r\n\r\n"u8.ToArray(), SocketFlags.None);
        Assert.StartsWith("HTTP/1.1 413 ", await ReadUntilCloseAsync(socket));
    }

    [SkippableTheory]
    [InlineData(WebServerMode.Sequential)]
    [InlineData(WebServerMode.Concurrent)]
    public async Task Curl_with_expect_100_continue_gets_the_100_and_does_not_wait_it_out(WebServerMode mode)
    {
        var curl = ExternalProcess.Require("curl", "curl");
        await using var server = Start(Www, mode);
        var body = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(body, Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray());
            // curl waits --expect100-timeout for the 100 before it sends the body anyway: a long one makes waiting show
            // as a failure (the run's bound), not as a timing.
            var run = await ExternalProcess.RunAsync(curl, ["-sv", "-o", "/dev/null", "-w", "%{http_code}", "--expect100-timeout", "60", "-H", "Expect: 100-continue",
                "--data-binary", "@" + body, $"http://127.0.0.1:{server.Port}/HelloWorld.html"], TimeSpan.FromSeconds(30));
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("< HTTP/1.1 100 Continue", run.StandardError);
            Assert.DoesNotContain("Done waiting for 100-continue", run.StandardError);
            Assert.Equal("405", run.StandardOutput.Trim());
        }
        finally
        {
            File.Delete(body);
        }
    }
}

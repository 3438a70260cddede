using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Web;
using static NetLabs.Tests.Web.WebTesting;

namespace NetLabs.Tests.Web;

/// <summary>Our raw client against a scripted peer that answers with exactly the bytes a test chooses.</summary>
public class HttpRawClientTests
{
    /// <summary>Accepts one connection, reads a request head, writes <paramref name="response"/> (in pieces), maybe closes.</summary>
    private static async Task<(int Port, Task<string> Request)> ScriptedServerAsync(string response, bool close = true, int pieces = 3)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var request = Task.Run(async () =>
        {
            using var _ = new DisposableListener(listener);
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var received = new MemoryStream();
            var buffer = new byte[4096];
            while (HttpRequest.FindHeadEnd(received.ToArray()) < 0)
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
            var bytes = Encoding.Latin1.GetBytes(response);
            for (var i = 0; i < pieces; i++)
            {
                await stream.WriteAsync(bytes.AsMemory(bytes.Length * i / pieces, bytes.Length * (i + 1) / pieces - bytes.Length * i / pieces));
                await Task.Delay(20);
            }
            if (!close) await Task.Delay(3000);
            return Encoding.Latin1.GetString(received.ToArray());
        });
        await Task.Yield();
        return (port, request);
    }

    private sealed class DisposableListener(TcpListener listener) : IDisposable
    {
        public void Dispose() => listener.Stop();
    }

    [Fact]
    public async Task Sends_a_well_formed_get()
    {
        var (port, request) = await ScriptedServerAsync("HTTP/1.1 204 No Content\r\n\r\n");
        var exchange = await HttpRawClient.GetAsync("localhost", port, "HelloWorld.html");
        Assert.Equal($"GET /HelloWorld.html HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: NetLabs-RawClient/1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n", await request);
        Assert.Equal(await request, Latin1(exchange.RequestBytes));
        Assert.Equal(204, exchange.StatusCode);
        Assert.Equal("No Content", exchange.ReasonPhrase);
        Assert.Equal("GET /HelloWorld.html HTTP/1.1", exchange.RequestLine);
    }

    [Theory]
    [InlineData("HelloWorld.html", "/HelloWorld.html")]
    [InlineData("/a b/caf\u00e9.txt", "/a%20b/caf%C3%A9.txt")]
    [InlineData("/x?y=1&z=%41", "/x?y=1&z=%41")]
    [InlineData("/../../etc/passwd", "/../../etc/passwd")]          // sent as given: the server must cope
    [InlineData("http://h/p", "http://h/p")]
    public void Builds_the_request_target(string path, string target) => Assert.Equal(target, HttpRawClient.RequestTarget(path));

    [Fact]
    public async Task Reads_a_content_length_body_without_waiting_for_close()
    {
        var (port, _) = await ScriptedServerAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", close: false);
        var exchange = await HttpRawClient.GetAsync("127.0.0.1", port, "/").WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal("hello", exchange.BodyText);
        Assert.Equal("Content-Length", exchange.Framing);
        Assert.False(exchange.ServerClosed);
    }

    [Fact]
    public async Task Decodes_a_chunked_body_and_keeps_the_raw_bytes()
    {
        const string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" +
                                "5\r\nHello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n";
        var (port, _) = await ScriptedServerAsync(response, close: false, pieces: 7);
        var exchange = await HttpRawClient.GetAsync("127.0.0.1", port, "/").WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal("Hello, world0123456789", exchange.BodyText);
        Assert.Equal("chunked", exchange.Framing);
        Assert.Equal(response, Latin1(exchange.ResponseBytes));
        Assert.Contains("7;ext=1\\r\\n", exchange.WireTranscript().Replace("\n", ""), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_to_close_when_there_is_no_length()
    {
        var (port, _) = await ScriptedServerAsync("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
        var exchange = await HttpRawClient.GetAsync("127.0.0.1", port, "/");
        Assert.Equal("until the end", exchange.BodyText);
        Assert.Equal("until close", exchange.Framing);
        Assert.True(exchange.ServerClosed);
        Assert.Equal("HTTP/1.0", exchange.Version);
    }

    [Fact]
    public async Task Skips_an_interim_100_continue()
    {
        var (port, _) = await ScriptedServerAsync("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        var exchange = await HttpRawClient.GetAsync("127.0.0.1", port, "/");
        Assert.Equal(200, exchange.StatusCode);
        Assert.Equal("ok", exchange.BodyText);
    }

    [Fact]
    public async Task Head_and_304_have_no_body_whatever_the_length_says()
    {
        var (port, _) = await ScriptedServerAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", close: false);
        var head = await HttpRawClient.GetAsync("127.0.0.1", port, "/", new HttpRawRequestOptions { Method = "HEAD" }).WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Empty(head.Body);
        (port, _) = await ScriptedServerAsync("HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\n\r\n", close: false);
        Assert.Empty((await HttpRawClient.GetAsync("127.0.0.1", port, "/").WaitAsync(TimeSpan.FromSeconds(2))).Body);
    }

    [Theory]
    [InlineData("", "without answering")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Le", "middle of the response head")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "5 of 10")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n\r\n", "Not an HTTP status line")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "Bad chunk size")]
    public async Task Broken_responses_are_reported_clearly(string response, string message)
    {
        var (port, _) = await ScriptedServerAsync(response);
        var error = await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/"));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task A_silent_server_is_a_timeout()
    {
        var (port, _) = await ScriptedServerAsync("", close: false, pieces: 1);
        await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/", new HttpRawRequestOptions { Timeout = TimeSpan.FromMilliseconds(300) }));
    }

    [Fact]
    public async Task The_transcript_shows_crlf_and_images()
    {
        await using var server = Start(Www);
        var page = await server.GetAsync("HelloWorld.html");
        var transcript = page.WireTranscript();
        Assert.Contains("GET /HelloWorld.html HTTP/1.1\\r\\n\n", transcript);
        Assert.Contains("HTTP/1.1 200 OK\\r\\n\n", transcript);
        Assert.Contains("<h1>Hello world!</h1>", transcript);
        var html = page.ToHtml();
        Assert.Contains("\\r</span>", html);
        Assert.Contains("&lt;h1&gt;Hello world!&lt;/h1&gt;", html);

        var image = await server.GetAsync("images/logo.png");
        Assert.Contains("data:image/png;base64," + Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(Www, "images", "logo.png"))), image.ToHtml());
        Assert.Contains("[body: 1667 bytes of image/png, starting 89504E470D0A1A0A]", image.WireTranscript());
        Assert.Contains("200 OK", image.ToString());
    }

    [Fact]
    public async Task Get_by_url_and_a_slow_send()
    {
        await using var server = Start(Www);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var exchange = await HttpRawClient.GetAsync(new Uri(server.Url, "style.css"), new HttpRawRequestOptions { SendDuration = TimeSpan.FromMilliseconds(400) });
        Assert.Equal(200, exchange.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380));
        Assert.Throws<ArgumentException>(() => { _ = HttpRawClient.GetAsync(new Uri("https://example.invalid/")); });
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", HttpClientFailure.Truncated, 200)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Le", HttpClientFailure.Truncated, null)]
    [InlineData("", HttpClientFailure.ClosedWithoutAnswer, null)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", HttpClientFailure.Truncated, 200)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY\r\n0\r\n\r\n", HttpClientFailure.Malformed, 200)]
    public async Task A_failure_carries_the_exchange_so_far(string response, HttpClientFailure failure, int? status)
    {
        var (port, _) = await ScriptedServerAsync(response);
        var error = await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/x").WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(failure, error.Failure);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(response, Latin1(error.ResponseBytes));
        Assert.StartsWith("GET /x HTTP/1.1\r\n", Latin1(error.RequestBytes));
        Assert.Equal(port, error.Port);
        Assert.IsAssignableFrom<NetLabs.Hosting.NetLabsException>(error);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_timeout_carries_the_bytes_that_did_arrive()
    {
        var (port, _) = await ScriptedServerAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart", close: false, pieces: 1);
        var error = await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/", new HttpRawRequestOptions { Timeout = TimeSpan.FromMilliseconds(500) }));
        Assert.Equal(HttpClientFailure.TimedOut, error.Failure);
        Assert.EndsWith("\r\n\r\npart", Latin1(error.ResponseBytes));
        Assert.Equal(200, error.StatusCode);
    }

    [Theory]
    [InlineData("Content-Length: 100000\r\n\r\n", false)]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n", true)]
    [InlineData("\r\n", false)] // until close
    public async Task A_body_destination_takes_a_body_of_any_size_and_memory_keeps_none(string headers, bool chunked)
    {
        var body = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 31)).ToArray();
        var wire = chunked
            ? string.Concat(body.Chunk(30_000).Select(c => $"{c.Length:x}\r\n{Latin1(c)}\r\n")) + "0\r\n\r\n"
            : Latin1(body);
        var response = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + headers + wire;
        var small = new HttpRawRequestOptions { MaxResponseBytes = 10_000 };

        var (port, _) = await ScriptedServerAsync(response);
        var tooLarge = await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/", small).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(HttpClientFailure.TooLarge, tooLarge.Failure);

        (port, _) = await ScriptedServerAsync(response);
        var destination = new MemoryStream();
        var exchange = await HttpRawClient.GetAsync("127.0.0.1", port, "/", small with { BodyDestination = destination }).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(body, destination.ToArray());
        Assert.Equal(body.Length, exchange.BodyLength);
        Assert.Empty(exchange.Body);
        Assert.True(exchange.ResponseBytes.Length < 1000, $"{exchange.ResponseBytes.Length} wire bytes kept");
    }

    [Theory]
    [InlineData(" folded: line")]
    [InlineData("Bad Name: x")]
    [InlineData("NoColon")]
    [InlineData("X-Control: a\u0001b")]
    public async Task Server_and_client_refuse_the_same_header_lines(string line)
    {
        // One header-field parser: what the server refuses in a request, the client refuses in a response.
        await using var server = Start(Www);
        Assert.Equal(400, (await server.SendRawAsync($"GET /HelloWorld.html HTTP/1.1\r\nHost: x\r\n{line}\r\n\r\n")).StatusCode);
        var (port, _) = await ScriptedServerAsync($"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n{line}\r\n\r\n");
        var error = await Assert.ThrowsAsync<HttpClientException>(() => HttpRawClient.GetAsync("127.0.0.1", port, "/").WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(HttpClientFailure.Malformed, error.Failure);
        Assert.Contains("not valid HTTP", error.Message);
    }
}

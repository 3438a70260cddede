using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Mail;

namespace NetLabs.Tests.Mail;

/// <summary>Our client against scripted misbehaving servers on real loopback sockets: it must fail clearly and in time.</summary>
public class ClientRobustnessTests
{
    /// <summary>A one-connection server that sends the given bytes after accepting, then keeps the socket open until disposed.</summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _serving;
        private readonly CancellationTokenSource _stop = new();

        public ScriptedServer(string script)
        {
            _listener.Start();
            _serving = Task.Run(async () =>
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(script), _stop.Token);
                await Task.Delay(Timeout.Infinite, _stop.Token);
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            try { await _serving.WaitAsync(TimeSpan.FromSeconds(5)); } catch (OperationCanceledException) { }
            _listener.Stop();
        }
    }

    [Fact]
    public async Task A_silent_server_times_out_with_a_protocol_exception()
    {
        await using var server = new ScriptedServer("");
        // Long enough that a loaded machine still connects within it; the greeting never comes, whatever the load.
        await using var client = new SmtpRawClient(new SmtpClientOptions { Timeout = TimeSpan.FromSeconds(2) });
        var error = await Assert.ThrowsAsync<SmtpProtocolException>(() => client.ConnectAsync("127.0.0.1", server.Port, cancellationToken: MailTestKit.Deadline()));
        Assert.Contains("No complete reply within", error.Message);
    }

    [Fact]
    public async Task A_connect_that_does_not_complete_in_time_is_a_protocol_exception_not_a_cancellation()
    {
        // 192.0.2.1 (TEST-NET-1, RFC 5737) is never routed: the SYN goes nowhere, so only the step timeout ends it
        // (on a machine with no route at all the connect fails at once, which is also a typed failure, not a cancellation).
        await using var client = new SmtpRawClient(new SmtpClientOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        var error = await Record.ExceptionAsync(() => client.ConnectAsync("192.0.2.1", 25, cancellationToken: MailTestKit.Deadline()));
        Assert.NotNull(error);
        Assert.IsNotAssignableFrom<OperationCanceledException>(error);
        if (error is SmtpProtocolException timeout) Assert.Contains("Connecting to 192.0.2.1:25 did not complete within 0.3 s", timeout.Message);
        else Assert.IsAssignableFrom<System.Net.Sockets.SocketException>(error);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_an_OperationCanceledException()
    {
        await using var server = new ScriptedServer("");
        await using var client = new SmtpRawClient();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ConnectAsync("127.0.0.1", server.Port, cancellationToken: cancel.Token));
    }

    [Theory]
    [InlineData("220-first line\r\n250 other code\r\n", "Reply code changed")]
    [InlineData("hello there\r\n", "Malformed reply line")]
    [InlineData("554 5.7.1 go away\r\n", "554")]
    public async Task A_bad_or_refusing_greeting_stops_the_dialogue(string greeting, string expected)
    {
        await using var server = new ScriptedServer(greeting);
        await using var client = new SmtpRawClient();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync("127.0.0.1", server.Port, cancellationToken: MailTestKit.Deadline()));
        Assert.True(error is SmtpProtocolException or SmtpCommandException, error.ToString());
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task A_multi_line_greeting_is_read_completely()
    {
        await using var server = new ScriptedServer("220-mx.test ESMTP\r\n220-second line\r\n220 last line\r\n250 mx.test\r\n");
        await using var client = new SmtpRawClient();
        await client.ConnectAsync("127.0.0.1", server.Port, cancellationToken: MailTestKit.Deadline());
        Assert.Equal(["mx.test ESMTP", "second line", "last line"], client.Greeting!.Lines);
        Assert.Empty(client.Capabilities); // "250 mx.test" alone: no extensions
    }
}

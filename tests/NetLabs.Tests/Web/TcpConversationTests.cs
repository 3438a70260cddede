using NetLabs.Web;

namespace NetLabs.Tests.Web;

/// <summary>The TCP connection under an exchange, as the client's socket calls reported it (issue 12, section 3).</summary>
public sealed class TcpConversationTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_get_on_a_closing_server_shows_handshake_request_response_and_both_fins_in_order()
    {
        using var site = new TempSite();
        await using var server = WebTesting.Start(site.Root, WebServerMode.Sequential);
        var exchange = await server.GetAsync("/hello.txt").WaitAsync(Bound);

        var steps = exchange.Tcp.Events.Select(e => e.Step).ToList();
        Assert.Equal(TcpStep.Connected, steps[0]);
        Assert.Equal(TcpStep.Sent, steps[1]);
        Assert.Equal(TcpStep.Received, steps[2]);
        // The server closes after its answer (Connection: close): its FIN is seen before our own close.
        Assert.Equal([TcpStep.PeerClosed, TcpStep.Closed], steps.TakeLast(2));
        Assert.Equal(exchange.RequestBytes.Length, exchange.Tcp.Events.Where(e => e.Step == TcpStep.Sent).Sum(e => e.Bytes));
        Assert.Equal(exchange.ResponseBytes.Length, exchange.Tcp.Events.Where(e => e.Step == TcpStep.Received).Sum(e => e.Bytes));
        Assert.StartsWith("GET /hello.txt HTTP/1.1\\r\\n", exchange.Tcp.Events[1].FirstLine);
        Assert.StartsWith("HTTP/1.1 200 OK\\r\\n", exchange.Tcp.Events[2].FirstLine);
        Assert.True(exchange.Tcp.Events.Zip(exchange.Tcp.Events.Skip(1)).All(p => p.First.At <= p.Second.At), "events in time order");

        var html = exchange.Tcp.ToHtml();
        foreach (var segment in new[] { "SYN", "SYN-ACK", "ACK", "data", "FIN" }) Assert.Contains(segment, html);
        Assert.Contains($"server 127.0.0.1:{server.Port}", exchange.Tcp.ToString());
        var diagram = exchange.Tcp.ToSequenceDiagram();
        Assert.Equal(["SYN", "SYN-ACK", "ACK"], diagram.Steps.Where(s => s.Kind != NetLabs.Display.SequenceStepKind.Note).Take(3).Select(s => s.Label));
        Assert.StartsWith("GET /hello.txt HTTP/1.1", diagram.Steps.First(s => s.Label.StartsWith("GET", StringComparison.Ordinal)).Label);
        Assert.Equal(("server", "client", "FIN"), diagram.Steps.Where(s => s.Label == "FIN").Select(s => (s.From, s.To, s.Label)).First());
        Assert.Contains("<svg", html);
    }

    [Fact]
    public async Task A_kept_alive_connection_carries_two_requests_before_one_close()
    {
        using var site = new TempSite();
        await using var server = WebTesting.Start(site.Root, WebServerMode.Concurrent);
        TcpConversation tcp;
        await using (var connection = await HttpRawConnection.ConnectAsync("127.0.0.1", server.Port).WaitAsync(Bound))
        {
            await connection.GetAsync("/hello.txt").WaitAsync(Bound);
            await connection.GetAsync("/index.html").WaitAsync(Bound);
            tcp = connection.Tcp;
            Assert.DoesNotContain(tcp.Events, e => e.Step is TcpStep.PeerClosed or TcpStep.Closed);
        }
        var steps = tcp.Events.Select(e => e.Step).ToList();
        Assert.Single(steps, TcpStep.Connected);
        Assert.Equal(2, steps.Count(s => s == TcpStep.Sent));
        Assert.Equal(TcpStep.Closed, steps[^1]);
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Tests.Support;
using NetLabs.Web;

namespace NetLabs.Tests.Web;

/// <summary>Small helpers shared by the web tests.</summary>
internal static class WebTesting
{
    public static string Www => Path.Combine(RepoPaths.Data, "www");

    public static WebServer Start(string root, WebServerMode mode = WebServerMode.Concurrent, Func<WebServerOptions, WebServerOptions>? tweak = null)
    {
        var options = new WebServerOptions { Root = root, Mode = mode };
        return WebServer.Start(tweak is null ? options : tweak(options));
    }

    public static Task<HttpExchange> GetAsync(this WebServer server, string path, HttpRawRequestOptions? options = null) =>
        HttpRawClient.GetAsync("127.0.0.1", server.Port, path, options);

    public static Task<HttpExchange> SendRawAsync(this WebServer server, string request, HttpRawRequestOptions? options = null) =>
        HttpRawClient.SendAsync("127.0.0.1", server.Port, Encoding.Latin1.GetBytes(request), options);

    /// <summary>
    /// Sends bytes on a fresh connection (in the background, so a server that answers early does not block us),
    /// then reads until the server closes or <paramref name="timeout"/>; a reset counts as closed.
    /// Returns what came back.
    /// </summary>
    public static async Task<(byte[] Received, bool Closed)> ExchangeAsync(int port, byte[] request, TimeSpan timeout, bool shutdownAfterSend = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        using var cts = new CancellationTokenSource(timeout);
        var sending = Task.Run(async () =>
        {
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cts.Token);
                if (shutdownAfterSend) socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { }
        });
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var closed = false;
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) { closed = true; break; }
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException) { closed = true; }
        catch (OperationCanceledException) { }
        await sending;
        return (received.ToArray(), closed);
    }

    /// <summary>The access log once it has <paramref name="count"/> entries (a request is logged just after its response is sent).</summary>
    public static async Task<IReadOnlyList<AccessLogEntry>> AccessLogAsync(this WebServer server, int count)
    {
        await EventuallyAsync(() => server.Log.Count >= count);
        return server.Log;
    }

    /// <summary>True when the server closed the connection (end of stream or reset) within the timeout.</summary>
    public static async Task<bool> ClosedByServerAsync(TcpClient client, TimeSpan timeout)
    {
        try
        {
            return await client.GetStream().ReadAsync(new byte[100]).AsTask().WaitAsync(timeout) == 0;
        }
        catch (IOException)
        {
            return true; // reset: the server closed with our bytes unread
        }
    }

    public static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Waits (bounded) until a condition holds, for things that happen on the server's own schedule.</summary>
    public static Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null) =>
        Poll.UntilAsync(condition, timeout ?? TimeSpan.FromSeconds(5));
}

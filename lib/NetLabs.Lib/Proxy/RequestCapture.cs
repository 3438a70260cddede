using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Proxy;

/// <summary>
/// Shows what a real client sends: listens once on a loopback port, lets the client make one request to it (as a server
/// or as a proxy, the client decides), and returns the request head it received. The client gets a short
/// <c>204 No Content</c> back so it finishes at once.
/// </summary>
public static class RequestCapture
{
    /// <param name="send">Makes one request to the given address (a URL of it, or a proxy setting naming it).</param>
    /// <param name="timeout">Most time for the whole capture (10 s by default).</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    public static async Task<string> HeadAsync(Func<IPEndPoint, Task> send, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sending = send((IPEndPoint)listener.LocalEndPoint!);
        using var client = await listener.AcceptAsync(deadline.Token).ConfigureAwait(false);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = new HttpMessageReader(stream, 64 * 1024);
        var head = await reader.ReadHeadAsync(deadline.Token).ConfigureAwait(false)
                   ?? throw new EndOfStreamException("The client closed without sending a request.");
        var text = Encoding.Latin1.GetString(head.Span) + "\r\n\r\n";
        await stream.WriteAsync("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"u8.ToArray(), deadline.Token).ConfigureAwait(false);
        client.Shutdown(SocketShutdown.Send);
        await sending.WaitAsync(deadline.Token).ConfigureAwait(false);
        return text;
    }
}

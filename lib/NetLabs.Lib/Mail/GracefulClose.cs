using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace NetLabs.Mail;

/// <summary>
/// Ends a server connection so that what was written arrives: TLS close_notify, then FIN, then the client's last bytes
/// are read (at most 64 KB, for at most a second) until it closes too. Closing a socket with unread input makes the
/// kernel send a reset, which can destroy a reply (a 421, a 221) the client has not read yet.
/// </summary>
internal static class GracefulClose
{
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);
    private const int MaxDrainBytes = 64 * 1024;

    public static async Task CloseAsync(Socket socket, Stream? stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            using var linger = new CancellationTokenSource(Linger);
            if (stream is SslStream ssl) await ssl.ShutdownAsync().WaitAsync(linger.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            for (var drained = 0; drained < MaxDrainBytes;)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, linger.Token).ConfigureAwait(false);
                if (read == 0) break;
                drained += read;
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException
                                      or AuthenticationException or InvalidOperationException)
        {
            // The peer is gone or slow: nothing more to deliver.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            stream?.Dispose();
            socket.Dispose();
        }
    }
}

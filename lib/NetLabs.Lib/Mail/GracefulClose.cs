using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace NetLabs.Mail;

/// <summary>
/// Ends a connection so that what was written arrives: TLS close_notify, then FIN, then the peer's last bytes are read
/// (at most 64 KB, for at most a second) until it closes too. Closing a socket with unread input, or input still on its
/// way, makes the kernel send a reset, which can destroy a reply (a 421, a 221) the peer has not read yet. The server
/// ends every session this way, and <see cref="SmtpRawClient.QuitAsync"/> after its 221.
/// </summary>
/// <remarks>
/// Many clients (smtp-source among them) reset the connection once they have their 221 instead of closing it. That is
/// the normal end here, so it is seen without an exception: the socket's pending error before the FIN, and a receive
/// that reports its error instead of throwing it afterwards. An exception per session cost about 8% of the
/// server's time in a profile of one message per connection.
/// </remarks>
internal static class GracefulClose
{
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);
    private const int MaxDrainBytes = 64 * 1024;

    public static async Task CloseAsync(Socket socket, Stream? stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            if (PeerGone(socket)) return;
            using var linger = new CancellationTokenSource(Linger);
            if (stream is SslStream ssl) await ssl.ShutdownAsync().WaitAsync(linger.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            using var receive = new DrainReceive(socket, buffer);
            // When the linger is over, closing the socket ends the receive that waits (it reports "aborted").
            using var _ = linger.Token.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket);
            for (var drained = 0; drained < MaxDrainBytes;)
            {
                var read = await receive.ReceiveAsync().ConfigureAwait(false);
                if (read <= 0) break;
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

    /// <summary>The connection already failed (reset by the client): nothing can be delivered any more.</summary>
    private static bool PeerGone(Socket socket)
    {
        try
        {
            return (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! != 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Receives into a buffer and reports the outcome as a number instead of an exception.</summary>
    private sealed class DrainReceive : SocketAsyncEventArgs
    {
        private readonly Socket _socket;
        private TaskCompletionSource<int>? _pending;

        public DrainReceive(Socket socket, byte[] buffer) : base(unsafeSuppressExecutionContextFlow: true)
        {
            _socket = socket;
            SetBuffer(buffer, 0, buffer.Length);
        }

        /// <summary>Bytes received; 0 when the client closed; -1 when the connection failed or the socket was closed.</summary>
        public Task<int> ReceiveAsync()
        {
            var pending = _pending = new TaskCompletionSource<int>();
            return _socket.ReceiveAsync(this) ? pending.Task : Task.FromResult(Outcome);
        }

        private int Outcome => SocketError == SocketError.Success ? BytesTransferred : -1;

        protected override void OnCompleted(SocketAsyncEventArgs e) => _pending!.TrySetResult(Outcome);
    }
}

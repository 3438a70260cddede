using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetLabs.Ping;

/// <summary>
/// The receive loop shared by the ping server, the ping client and the heartbeat server. Like the textbook's
/// <c>while True: message, address = socket.recvfrom(…)</c>, it blocks in <c>ReceiveFrom</c>, on a thread of its own:
/// a blocked thread wakes the moment a datagram arrives, with no hop through the thread pool, which keeps RTTs
/// short and steady. It looks at the cancellation token every <see cref="StopCheck"/>. A datagram that cannot be
/// received (an ICMP error reported on the socket, say) is skipped, never fatal: UDP peers come and go without telling us.
/// </summary>
internal static class UdpReceiveLoop
{
    /// <summary>The largest UDP payload over IPv4 (65 535 − 8 byte UDP header − 20 byte IP header).</summary>
    public const int MaxDatagram = 65507;

    /// <summary>How long a blocked receive waits before it checks whether it should stop.</summary>
    public static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(100);

    public delegate void DatagramHandler(ReadOnlyMemory<byte> datagram, IPEndPoint from, long receivedTimestamp);

    /// <summary>Starts the loop on a background thread; the task completes when the loop has ended.</summary>
    public static Task Start(Socket socket, DatagramHandler handle, Action<Exception>? onError, string name, CancellationToken cancellationToken)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { Run(socket, handle, onError, cancellationToken); }
            finally { ended.TrySetResult(); }
        }) { IsBackground = true, Name = name };
        thread.Start();
        return ended.Task;
    }

    private static void Run(Socket socket, DatagramHandler handle, Action<Exception>? onError, CancellationToken cancellationToken)
    {
        // One byte more than any legal datagram so nothing is ever silently truncated into something "valid".
        var buffer = new byte[MaxDatagram + 1];
        EndPoint from = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try { socket.ReceiveTimeout = (int)StopCheck.TotalMilliseconds; }
        catch (ObjectDisposedException) { return; }
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = socket.ReceiveFrom(buffer, ref from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock) { continue; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                onError?.Invoke(e); // e.g. ConnectionReset after an ICMP "port unreachable": keep serving
                continue;
            }
            var received = Stopwatch.GetTimestamp();
            try
            {
                handle(buffer.AsMemory(0, length), (IPEndPoint)from, received);
            }
            catch (Exception e)
            {
                onError?.Invoke(e); // one bad datagram (or a faulty event handler) never stops the loop
            }
        }
    }
}

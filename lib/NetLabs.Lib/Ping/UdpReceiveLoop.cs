using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetLabs.Ping;

/// <summary>
/// The receive loop shared by the ping server, the ping client and the heartbeat server: wait for a datagram, hand it
/// over with the monotonic time it arrived, repeat until cancelled. A datagram that cannot be received (an ICMP error
/// reported on the socket, say) is skipped, never fatal: UDP peers come and go without telling us.
/// </summary>
internal static class UdpReceiveLoop
{
    /// <summary>The largest UDP payload over IPv4 (65 535 − 8 byte UDP header − 20 byte IP header).</summary>
    public const int MaxDatagram = 65507;

    public delegate void DatagramHandler(ReadOnlyMemory<byte> datagram, IPEndPoint from, long receivedTimestamp);

    public static async Task RunAsync(Socket socket, DatagramHandler handle, Action<Exception>? onError, CancellationToken cancellationToken)
    {
        // One byte more than any legal datagram so nothing is ever silently truncated into something "valid".
        var buffer = new byte[MaxDatagram + 1];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted) { return; }
            catch (SocketException e)
            {
                onError?.Invoke(e); // e.g. ConnectionReset after an ICMP "port unreachable": keep serving
                continue;
            }
            var received = Stopwatch.GetTimestamp();
            try
            {
                handle(buffer.AsMemory(0, result.ReceivedBytes), (IPEndPoint)result.RemoteEndPoint, received);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                onError?.Invoke(e); // one bad datagram (or a faulty event handler) never stops the loop
            }
        }
    }

    /// <summary>A UDP socket bound to the given address and port (0 = any free port).</summary>
    public static Socket Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

using System.Net;
using System.Net.Sockets;
namespace NetLabs.Tests.Support;

/// <summary>Ports for peer servers that bind their own socket (smtp-sink, aiosmtpd, nginx).</summary>
internal static class PeerPorts
{
    /// <summary>A port that was free a moment ago (the peer binds it itself).</summary>
    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Waits (bounded by the token) until the peer accepts connections on the port.</summary>
    public static async Task WaitUntilListeningAsync(BackgroundProcess peer, int port, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (peer.HasExited) throw new InvalidOperationException("The peer exited early: " + peer.Output);
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException) { await Task.Delay(50, cancellationToken); }
        }
    }
}

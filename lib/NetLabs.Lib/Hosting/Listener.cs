using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace NetLabs.Hosting;

/// <summary>
/// Binding a lab server's socket, with the one set of messages that say how to fix what went wrong
/// (<see cref="ServerStartException"/>): port in use, port below 1024, address not of this machine.
/// </summary>
public static class Listener
{
    /// <summary>A TCP socket bound to <paramref name="address"/>:<paramref name="port"/> and listening (0: a free port).</summary>
    /// <remarks><c>service</c> names what listens, for the message ("the web server"); <c>labPort</c> is the port the
    /// lab uses, suggested when a low port is refused.</remarks>
    public static Socket BindTcp(IPAddress address, int port, string service, int labPort, int backlog = 512) =>
        Bind(address, port, service, labPort, SocketType.Stream, ProtocolType.Tcp, socket =>
        {
            socket.NoDelay = true; // answers go out in one write each: no Nagle delay (accepted sockets inherit it on Linux)
            socket.Listen(backlog);
        });

    /// <summary>A UDP socket bound to <paramref name="address"/>:<paramref name="port"/> (0: a free port).</summary>
    public static Socket BindUdp(IPAddress address, int port, string service, int labPort) =>
        Bind(address, port, service, labPort, SocketType.Dgram, ProtocolType.Udp, socket =>
        {
            // A larger queue rides out short pauses (a GC, a busy core) without dropping; the kernel caps it at rmem_max.
            socket.ReceiveBufferSize = 4 << 20;
        });

    /// <summary>Addresses of this machine that other machines may reach it on (IPv4, up, not loopback).</summary>
    public static IReadOnlyList<IPAddress> LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToList();

    private static Socket Bind(IPAddress address, int port, string service, int labPort, SocketType type, ProtocolType protocol, Action<Socket> afterBind)
    {
        if (port is < 0 or > 65535)
            throw new ServerStartException($"Port {port} does not exist: a port is 0–65535 (0 picks a free one; the lab uses {labPort}).");
        var socket = new Socket(address.AddressFamily, type, protocol);
        try
        {
            if (address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(new IPEndPoint(address, port));
            afterBind(socket);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var what = protocol == ProtocolType.Tcp ? "TCP" : "UDP";
            throw e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new ServerStartException(
                    $"{what} port {port} on {address} is already in use, so {service} cannot listen there: another program (or an earlier run that was not stopped) holds it. Stop that one, pick another port, or use port 0 for a free one.", e),
                SocketError.AccessDenied => new ServerStartException(
                    $"Not allowed to listen on {what} port {port}: ports below 1024 need administrator rights. Use a port above 1024 (the lab uses {labPort}).", e),
                SocketError.AddressNotAvailable => new ServerStartException(
                    $"{address} is not an address of this machine. Use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of: {string.Join(", ", LocalAddresses())}.", e),
                _ => new ServerStartException($"{service} cannot listen on {what} {new IPEndPoint(address, port)}: {e.Message}", e),
            };
        }
    }
}

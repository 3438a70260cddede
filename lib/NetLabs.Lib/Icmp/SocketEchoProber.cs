using System.Net;
using System.Net.Sockets;

namespace NetLabs.Icmp;

/// <summary>
/// ICMP echo probes over a raw socket or an ICMP datagram socket: the request is built here byte by byte, and every
/// packet read is parsed and matched by identifier, sequence number and address before it counts.
/// </summary>
public sealed class SocketEchoProber : Prober
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[65536];

    internal SocketEchoProber(Socket socket, IcmpSendPath path, ushort identifier)
    {
        _socket = socket;
        Path = path;
        Identifier = identifier;
    }

    public override IcmpSendPath Path { get; }
    public override ProbeKind Kind => ProbeKind.Icmp;
    /// <summary>Our identifier (on a Linux datagram socket the kernel replaces it with the socket's own).</summary>
    public ushort Identifier { get; }

    /// <summary>A raw socket reads the IP header too; so does a datagram socket everywhere but Linux.</summary>
    private bool IncludesIpHeader => Path == IcmpSendPath.RawSocket || !OperatingSystem.IsLinux();
    private bool KernelOwnsIdentifier => Path == IcmpSendPath.DatagramSocket && OperatingSystem.IsLinux();

    public override async Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
    {
        CheckDestination(request);
        var message = IcmpMessage.EchoRequest(Identifier, request.Sequence, EchoPayload.Create(request.PayloadBytes, DateTimeOffset.UtcNow));
        _socket.Ttl = (short)request.Ttl;
        return await ExchangeAsync(_socket, _buffer, IncludesIpHeader, request,
            ct => SocketSend.SendAsync(_socket, message.Bytes, request.Destination, ct),
            received => received.AnswersEcho(request.Destination, Identifier, request.Sequence, checkIdentifier: !KernelOwnsIdentifier),
            cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing) => _socket.Dispose();
}

internal static class SocketSend
{
    public static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> bytes, IPAddress destination, CancellationToken cancellationToken, int port = 0)
    {
        try
        {
            await socket.SendToAsync(bytes, SocketFlags.None, new IPEndPoint(destination, port), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IcmpException($"Cannot send to {destination}: {e.Message}; check the address and this host's routes (ip route).", e);
        }
    }
}

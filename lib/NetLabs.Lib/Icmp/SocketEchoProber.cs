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

    private readonly EchoCodec? _codec;

    internal SocketEchoProber(Socket socket, IcmpSendPath path, ushort identifier, EchoCodec? codec = null)
    {
        _codec = codec;
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
        var data = EchoPayload.Create(request.PayloadBytes, DateTimeOffset.UtcNow);
        ReadOnlyMemory<byte> message = _codec?.Builder is { } build ? build(Identifier, request.Sequence, data) : IcmpMessage.EchoRequest(Identifier, request.Sequence, data).Bytes;
        _socket.Ttl = (short)request.Ttl;
        return await ExchangeAsync(_socket, _buffer, request,
            ct => SocketSend.SendAsync(_socket, message, request.Destination, ct),
            _codec?.Parser is { } parse ? StudentClassifier(parse, request) : Classifier(IncludesIpHeader, request,
                received => received.AnswersEcho(request.Destination, Identifier, request.Sequence, checkIdentifier: !KernelOwnsIdentifier)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The student's parser decides what a packet says; the match is still ours (type 0, identifier, sequence, source).</summary>
    private PacketClassifier StudentClassifier(IcmpPacketParser parse, ProbeRequest request) => (packet, _, elapsed) =>
    {
        var fields = parse(packet.ToArray());
        if (fields is null) return (true, null);
        if (fields.Type != (byte)IcmpType.EchoReply || fields.Identifier != Identifier || fields.Sequence != request.Sequence || !request.Destination.Equals(fields.Source))
            return (false, null);
        return (false, new ProbeAnswer(request, ProbeStatus.EchoReply, fields.Source, elapsed, fields.Ttl, fields.Type, fields.Code, packet.Length - (packet.Span[0] & 0x0F) * 4));
    };

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

using System.Net;
using System.Net.Sockets;

namespace NetLabs.Icmp;

/// <summary>
/// Classic traceroute probes: a UDP datagram to a high port (<see cref="BasePort"/> + sequence), where nothing listens,
/// so the destination answers "port unreachable" and the routers before it "time exceeded". The answers are ICMP
/// errors quoting our UDP header, read from a raw socket and matched by both ports and the destination.
/// </summary>
public sealed class UdpProber : Prober
{
    public const int DefaultBasePort = 33434;

    private readonly Socket _icmp;
    private readonly Socket _udp;
    private readonly byte[] _buffer = new byte[65536];

    internal UdpProber(Socket rawIcmp, int basePort)
    {
        _icmp = rawIcmp;
        BasePort = basePort;
        _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _udp.Bind(Any);
        SourcePort = (ushort)((IPEndPoint)_udp.LocalEndPoint!).Port;
    }

    public override IcmpSendPath Path => IcmpSendPath.RawSocket;
    public override ProbeKind Kind => ProbeKind.Udp;
    public int BasePort { get; }
    public ushort SourcePort { get; }

    public ushort DestinationPort(ProbeRequest request) => (ushort)(BasePort + request.Sequence);

    public override async Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
    {
        CheckDestination(request);
        if (BasePort + request.Sequence > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(request), request.Sequence, "The probe's port would pass 65535.");
        var port = DestinationPort(request);
        _udp.Ttl = (short)request.Ttl;
        var payload = EchoPayload.Create(Math.Max(request.PayloadBytes - 8, 0), DateTimeOffset.UtcNow);
        return await ExchangeAsync(_icmp, _buffer, request, ct => SocketSend.SendAsync(_udp, payload, request.Destination, ct, port),
            Classifier(includesIpHeader: true, request, received => received.AnswersUdp(request.Destination, SourcePort, port)), cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        _udp.Dispose();
        _icmp.Dispose();
    }
}

using System.Net.Sockets;

namespace NetLabs.Icmp;

/// <summary>
/// Opens the best sending path this machine allows: a raw socket, else an ICMP datagram socket, else the OS's ping.
/// Each path that was not permitted leaves a note saying what it needs and how to enable it.
/// </summary>
public static class Probers
{
    /// <summary>
    /// A prober for <paramref name="kind"/> probes. <paramref name="path"/> forces one path (and throws
    /// <see cref="IcmpPathUnavailableException"/> when it is not permitted); null tries them in order.
    /// <paramref name="readsRouterErrors"/> is true for traceroute: a Linux datagram socket delivers routers' errors
    /// only to its error queue, which .NET does not read, so it is skipped there.
    /// </summary>
    public static Prober Open(ProbeKind kind = ProbeKind.Icmp, IcmpSendPath? path = null, bool readsRouterErrors = false, int udpBasePort = UdpProber.DefaultBasePort)
    {
        var notes = new List<string>();
        // A UDP trace has one path: the routers' errors are read from a raw socket.
        var candidates = path is { } only ? [only] : kind == ProbeKind.Udp ? [IcmpSendPath.RawSocket] : new[] { IcmpSendPath.RawSocket, IcmpSendPath.DatagramSocket, IcmpSendPath.SystemPing };
        foreach (var candidate in candidates)
        {
            var prober = TryOpen(candidate, kind, readsRouterErrors, udpBasePort, out var note);
            if (prober is not null)
            {
                if (prober is not SystemPingProber) WarmUp();
                prober.PathNotes = notes;
                return prober;
            }
            if (path is not null) throw new IcmpPathUnavailableException(candidate, note);
            notes.Add(note);
        }
        throw new IcmpPathUnavailableException(IcmpSendPath.RawSocket, string.Join(" ", notes));
    }

    /// <summary>
    /// A raw-socket echo prober that builds and reads packets with the student's code (<paramref name="codec"/>);
    /// throws <see cref="IcmpPathUnavailableException"/> where raw sockets are not permitted.
    /// </summary>
    public static Prober OpenWith(EchoCodec codec)
    {
        var raw = TryOpenSocket(SocketType.Raw, out var error)
            ?? throw new IcmpPathUnavailableException(IcmpSendPath.RawSocket, $"Your own packets need a raw socket ({error}): run as root or give dotnet CAP_NET_RAW.");
        return new SocketEchoProber(raw, IcmpSendPath.RawSocket, NewIdentifier(), codec);
    }

    private static Prober? TryOpen(IcmpSendPath path, ProbeKind kind, bool readsRouterErrors, int udpBasePort, out string note)
    {
        note = "";
        if (kind == ProbeKind.Udp && path != IcmpSendPath.RawSocket)
        {
            note = "A UDP trace reads the routers' ICMP errors from a raw socket, so it needs root or CAP_NET_RAW; an ICMP trace (--icmp) runs without.";
            return null;
        }
        switch (path)
        {
            case IcmpSendPath.RawSocket:
                var raw = TryOpenSocket(SocketType.Raw, out var rawError);
                if (raw is null)
                {
                    note = $"No raw socket ({rawError}): it needs root or CAP_NET_RAW on Linux (sudo setcap cap_net_raw+ep \"$(readlink -f \"$(command -v dotnet)\")\"), administrator on Windows."
                        + (kind == ProbeKind.Udp ? " A UDP trace reads the routers' errors from a raw socket; an ICMP trace (--icmp) runs without." : "");
                    return null;
                }
                return kind == ProbeKind.Udp ? new UdpProber(raw, udpBasePort) : new SocketEchoProber(raw, path, NewIdentifier());
            case IcmpSendPath.DatagramSocket:
                if (readsRouterErrors && OperatingSystem.IsLinux())
                {
                    note = "An ICMP datagram socket on Linux hands routers' errors only to its error queue, so traceroute does not use it.";
                    return null;
                }
                var datagram = TryOpenSocket(SocketType.Dgram, out var datagramError);
                if (datagram is null)
                {
                    note = OperatingSystem.IsLinux()
                        ? $"No ICMP datagram socket ({datagramError}): Linux allows it only to the groups in net.ipv4.ping_group_range (now \"{PingGroupRange() ?? "unknown"}\"); enable it with sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"."
                        : $"No ICMP datagram socket ({datagramError}).";
                    return null;
                }
                return new SocketEchoProber(datagram, path, NewIdentifier());
            default:
                return new SystemPingProber();
        }
    }

    private static Socket? TryOpenSocket(SocketType type, out string error)
    {
        try
        {
            error = "";
            var socket = new Socket(AddressFamily.InterNetwork, type, ProtocolType.Icmp);
            // Bound at once: the first receive is posted before the first send.
            socket.Bind(Prober.Any);
            return socket;
        }
        catch (SocketException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>
    /// Runs the send, receive and parse code once, over a UDP socket pair on loopback, before the first probe: the
    /// runtime's first-call costs (compiling those methods) would otherwise land inside the first probe's RTT.
    /// </summary>
    private static void WarmUp()
    {
        try
        {
            using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            receiver.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var buffer = new byte[64];
            var receive = receiver.ReceiveFromAsync(buffer, SocketFlags.None, Prober.Any, deadline.Token).AsTask();
            var reply = IcmpMessage.Build(0, 0, 1, 1, EchoPayload.Create(EchoPayload.DefaultSize, DateTimeOffset.UtcNow));
            sender.SendToAsync(reply.Bytes, SocketFlags.None, receiver.LocalEndPoint!, deadline.Token).AsTask().Wait(deadline.Token);
            receive.Wait(deadline.Token);
            var packet = Ipv4Header.Wrap(System.Net.IPAddress.Loopback, System.Net.IPAddress.Loopback, reply.Bytes.Span);
            if (ReceivedIcmp.TryParse(packet, true, System.Net.IPAddress.Loopback, out var received, out _))
                _ = ProbeAnswer.Answered(new ProbeRequest(System.Net.IPAddress.Loopback, 1, 1, TimeSpan.FromSeconds(1)), received, TimeSpan.Zero).ToString();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or AggregateException)
        {
            // Only a warm-up: without it the first RTT is merely longer.
        }
    }

    /// <summary>The Linux setting that says which groups may open ICMP datagram sockets ("1 0" = nobody).</summary>
    public static string? PingGroupRange()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ping_group_range").Trim();
            return string.Join(' ', text.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    // A random identifier per prober, so two of our pingers (and iputils ping) on one host never claim each other's replies.
    private static ushort NewIdentifier() => (ushort)Random.Shared.Next(1, 65536);
}

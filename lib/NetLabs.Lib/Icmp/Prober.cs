using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetLabs.Icmp;

/// <summary>How probes leave this machine, in the order they are tried.</summary>
public enum IcmpSendPath
{
    /// <summary>A raw socket: we build every byte of the ICMP message and read every ICMP packet the host receives. Needs root or CAP_NET_RAW (administrator on Windows).</summary>
    RawSocket,
    /// <summary>An unprivileged ICMP datagram socket (Linux when net.ipv4.ping_group_range includes the user, macOS): the kernel owns the identifier.</summary>
    DatagramSocket,
    /// <summary>The operating system's ping (System.Net.NetworkInformation.Ping): no bytes of ours on the wire, but statistics and traceroute still run.</summary>
    SystemPing,
}

/// <summary>
/// Sends one probe at a time and waits for its answer, each with its own timeout. Packets that answer none of our
/// probes (other processes' pings, damaged or foreign messages) are counted and never taken for an answer.
/// </summary>
public abstract class Prober : IDisposable
{
    private int _malformed;
    private int _ignored;

    public abstract IcmpSendPath Path { get; }
    public abstract ProbeKind Kind { get; }

    /// <summary>Why this path was chosen: the paths tried before it and what they need.</summary>
    public IReadOnlyList<string> PathNotes { get; internal set; } = [];

    /// <summary>ICMP packets received that could not be read (too short, wrong checksum, bad IHL).</summary>
    public int Malformed => _malformed;
    /// <summary>Well-formed ICMP packets that answer none of our probes (someone else's ping, our own requests on loopback, …).</summary>
    public int Ignored => _ignored;

    public abstract Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default);

    protected void CountMalformed() => Interlocked.Increment(ref _malformed);
    protected void CountIgnored() => Interlocked.Increment(ref _ignored);

    /// <summary>One line for the notebook and the command: which path ran.</summary>
    public string PathDescription => Path switch
    {
        IcmpSendPath.RawSocket => "raw socket (our own ICMP bytes; root or CAP_NET_RAW)",
        IcmpSendPath.DatagramSocket => "ICMP datagram socket (unprivileged; the kernel sets the identifier)",
        _ => "operating system's ping (System.Net.NetworkInformation.Ping; its bytes, not ours)",
    };

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);

    /// <summary>Throws the lab's one-line error for anything but an IPv4 address.</summary>
    public static void RequireIPv4(IPAddress destination)
    {
        if (destination.AddressFamily != AddressFamily.InterNetwork)
            throw new IcmpException($"{destination} is not an IPv4 address; this lab speaks ICMP for IPv4 (ICMPv6 is another protocol).");
    }

    internal static void CheckDestination(ProbeRequest request)
    {
        RequireIPv4(request.Destination);
        if (request.Ttl is < 1 or > 255) throw new ArgumentOutOfRangeException(nameof(request), request.Ttl, "A TTL is 1–255.");
        if (request.Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(request), request.Timeout, "A probe timeout is positive.");
    }

    internal static IPEndPoint Any { get; } = new(IPAddress.Any, 0);

    /// <summary>Decides what one received packet is: unreadable, not ours (null answer), or the answer to the probe.</summary>
    protected delegate (bool Malformed, ProbeAnswer? Answer) PacketClassifier(ReadOnlyMemory<byte> packet, IPAddress from, TimeSpan elapsed);

    /// <summary>Our reading: parse the packet (behind its IP header or not) and ask <paramref name="answers"/> whether it answers the probe.</summary>
    protected static PacketClassifier Classifier(bool includesIpHeader, ProbeRequest request, Func<ReceivedIcmp, bool> answers) => (packet, from, elapsed) =>
    {
        if (!ReceivedIcmp.TryParse(packet.Span, includesIpHeader, from, out var received, out _)) return (true, null);
        return (false, answers(received) ? ProbeAnswer.Answered(request, received, elapsed) : null);
    };

    /// <summary>
    /// Sends a probe and reads ICMP packets from <paramref name="receiver"/> until one answers it
    /// (as <paramref name="classify"/> decides) or the probe's own timeout runs out. Everything else is counted as malformed or
    /// ignored. The receive is posted before the send, so the RTT ends when the kernel wakes us, not after our
    /// first-call costs.
    /// </summary>
    protected async Task<ProbeAnswer> ExchangeAsync(Socket receiver, byte[] buffer, ProbeRequest request,
        Func<CancellationToken, Task> send, PacketClassifier classify, CancellationToken cancellationToken)
    {
        // A fresh deadline for every probe: one slow hop never eats the next probe's time.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Armed before the send, so nothing but the send itself lies between the two clock readings' work.
        deadline.CancelAfter(request.Timeout);
        var receive = receiver.ReceiveFromAsync(buffer, SocketFlags.None, Any, deadline.Token).AsTask();
        var sent = Stopwatch.GetTimestamp();
        try
        {
            await send(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await deadline.CancelAsync().ConfigureAwait(false);
            await receive.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }
        while (true)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await receive.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return ProbeAnswer.TimedOut(request);
            }
            var elapsed = Stopwatch.GetElapsedTime(sent);
            var (malformed, answer) = classify(buffer.AsMemory(0, result.ReceivedBytes), ((IPEndPoint)result.RemoteEndPoint).Address, elapsed);
            if (answer is not null) return answer;
            if (malformed) CountMalformed();
            else CountIgnored();
            receive = receiver.ReceiveFromAsync(buffer, SocketFlags.None, Any, deadline.Token).AsTask();
        }
    }
}

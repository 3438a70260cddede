using System.Diagnostics;
using System.Net.NetworkInformation;

namespace NetLabs.Icmp;

/// <summary>
/// The fallback: the operating system's ping (<see cref="System.Net.NetworkInformation.Ping"/>, which takes a TTL), when neither socket is
/// permitted. The bytes on the wire are the OS's, not ours, but every answer is turned into the same
/// <see cref="ProbeAnswer"/>, so statistics, charts and traceroute run unchanged.
/// </summary>
public sealed class SystemPingProber : Prober
{
    private readonly System.Net.NetworkInformation.Ping _ping = new();
    // Where .NET itself falls back to the ping program (no socket permitted), it cannot send a payload of ours.
    private bool _customPayload = true;

    public override IcmpSendPath Path => IcmpSendPath.SystemPing;
    public override ProbeKind Kind => ProbeKind.Icmp;

    /// <summary>What .NET sends when it may not send ours (32 bytes).</summary>
    private const int DefaultPayloadBytes = 32;

    public override async Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
    {
        CheckDestination(request);
        var payload = _customPayload ? EchoPayload.Create(request.PayloadBytes, DateTimeOffset.UtcNow) : null;
        var started = Stopwatch.GetTimestamp();
        PingReply reply;
        try
        {
            reply = await _ping.SendPingAsync(request.Destination, request.Timeout, payload, new PingOptions(request.Ttl, dontFragment: false), cancellationToken).ConfigureAwait(false);
        }
        catch (PlatformNotSupportedException) when (_customPayload)
        {
            _customPayload = false;
            return await ProbeAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PingException or PlatformNotSupportedException or InvalidOperationException)
        {
            throw new IcmpException($"The system's ping could not reach {request.Destination}: {e.InnerException?.Message ?? e.Message}.", e);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        var (status, type, code) = reply.Status switch
        {
            IPStatus.Success => (ProbeStatus.EchoReply, (byte)IcmpType.EchoReply, (byte)0),
            IPStatus.TtlExpired or IPStatus.TimeExceeded => (ProbeStatus.TimeExceeded, (byte)IcmpType.TimeExceeded, (byte)0),
            IPStatus.TtlReassemblyTimeExceeded => (ProbeStatus.TimeExceeded, (byte)IcmpType.TimeExceeded, (byte)1),
            IPStatus.DestinationNetworkUnreachable => (ProbeStatus.Unreachable, (byte)IcmpType.DestinationUnreachable, (byte)0),
            IPStatus.DestinationHostUnreachable or IPStatus.DestinationUnreachable => (ProbeStatus.Unreachable, (byte)IcmpType.DestinationUnreachable, (byte)1),
            IPStatus.DestinationProtocolUnreachable => (ProbeStatus.Unreachable, (byte)IcmpType.DestinationUnreachable, (byte)2),
            IPStatus.DestinationPortUnreachable => (ProbeStatus.PortUnreachable, (byte)IcmpType.DestinationUnreachable, (byte)3),
            IPStatus.PacketTooBig => (ProbeStatus.Unreachable, (byte)IcmpType.DestinationUnreachable, (byte)4),
            IPStatus.ParameterProblem => (ProbeStatus.OtherError, (byte)IcmpType.ParameterProblem, (byte)0),
            IPStatus.SourceQuench => (ProbeStatus.OtherError, (byte)IcmpType.SourceQuench, (byte)0),
            _ => (ProbeStatus.Timeout, (byte)0, (byte)0),
        };
        if (status == ProbeStatus.Timeout) return ProbeAnswer.TimedOut(request);
        // The OS reports whole milliseconds (0 for errors on some systems); our own clock is finer.
        return new ProbeAnswer(request, status, reply.Address, elapsed, reply.Options?.Ttl, type, code, (payload?.Length ?? DefaultPayloadBytes) + IcmpMessage.HeaderLength);
    }

    protected override void Dispose(bool disposing) => _ping.Dispose();
}

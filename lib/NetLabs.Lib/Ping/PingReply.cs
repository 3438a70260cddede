using System.Globalization;
using System.Net;

namespace NetLabs.Ping;

/// <summary>What became of a ping, or of a datagram that came back.</summary>
public enum PingOutcome
{
    /// <summary>The reply to this ping arrived within the timeout.</summary>
    Reply,
    /// <summary>No reply within the timeout: "Request timed out".</summary>
    Timeout,
    /// <summary>The reply to a ping that had already timed out: reported, never counted for the current ping.</summary>
    Late,
    /// <summary>A second reply to a ping already answered.</summary>
    Duplicate,
    /// <summary>A datagram that is no reply to any ping we sent (garbage, another sender, an unknown sequence).</summary>
    Unexpected,
}

/// <summary>The result of one ping (or a late, duplicate or unexpected datagram), as it is streamed.</summary>
public sealed record PingReply(int Sequence, PingOutcome Outcome, TimeSpan? Rtt, string? Text, IPEndPoint? From)
{
    public double? RttMilliseconds => Rtt?.TotalMilliseconds;

    /// <summary>True for the outcomes that answer "was this ping answered in time?" (reply or timeout).</summary>
    public bool IsPingResult => Outcome is PingOutcome.Reply or PingOutcome.Timeout;

    public static PingReply TimedOut(int sequence) => new(sequence, PingOutcome.Timeout, null, null, null);

    /// <summary>The textbook's output: the reply and its RTT, or <c>Request timed out (ping 3)</c> (which ping: a late reply names it too).</summary>
    public override string ToString() => Outcome switch
    {
        PingOutcome.Reply => string.Create(CultureInfo.InvariantCulture, $"Reply from {From}: {Text}  RTT = {RttMilliseconds:F3} ms"),
        PingOutcome.Timeout => string.Create(CultureInfo.InvariantCulture, $"Request timed out (ping {Sequence})"),
        PingOutcome.Late => string.Create(CultureInfo.InvariantCulture, $"Late reply to ping {Sequence} after {RttMilliseconds:F3} ms (already timed out): {Text}"),
        PingOutcome.Duplicate => string.Create(CultureInfo.InvariantCulture, $"Duplicate reply to ping {Sequence} after {RttMilliseconds:F3} ms: {Text}"),
        _ => $"Unexpected datagram from {From}: {Text}",
    };
}

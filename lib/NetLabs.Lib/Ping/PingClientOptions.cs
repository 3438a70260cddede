using System.Net;

namespace NetLabs.Ping;

/// <summary>The client side of the lab: 10 pings, each waiting at most 1 s, one after the other.</summary>
public sealed record PingClientOptions
{
    public PingClientOptions(IPEndPoint server) => Server = server;

    public IPEndPoint Server { get; init; }
    public int Count { get; init; } = 10;
    /// <summary>Time from one send to the next; zero (the lab) = send the next ping as soon as the previous one is answered or timed out.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.Zero;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>After the last ping, how long to keep listening for late and duplicate replies (reported, not counted).</summary>
    public TimeSpan LateReplyGrace { get; init; } = TimeSpan.Zero;
    /// <summary>The payload of ping <c>sequence</c> sent at <c>time</c>: <c>Ping &lt;sequence&gt; &lt;time&gt;</c> as the lab specifies.</summary>
    public Func<int, DateTimeOffset, string> Payload { get; init; } = PingMessage.Format;
    /// <summary>
    /// Who sends each ping and waits for its reply: a student's <see cref="PingExchange"/>, handed the client's one UDP
    /// socket and run in the library's loop with the same pacing, output and statistics; null = ours
    /// (<see cref="PingClient.ExchangeAsync"/>).
    /// </summary>
    public PingExchange? Exchange { get; init; }

    /// <summary>The longest <see cref="Timeout"/>, <see cref="Interval"/> or <see cref="LateReplyGrace"/> the client takes.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Server);
        ArgumentOutOfRangeException.ThrowIfNegative(Count, nameof(Count));
        ArgumentOutOfRangeException.ThrowIfNegative(Interval.Ticks, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Timeout.Ticks, nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfNegative(LateReplyGrace.Ticks, nameof(LateReplyGrace));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Interval, MaxWait, nameof(Interval));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Timeout, MaxWait, nameof(Timeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LateReplyGrace, MaxWait, nameof(LateReplyGrace));
    }
}

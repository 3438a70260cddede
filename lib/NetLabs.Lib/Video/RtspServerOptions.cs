using System.Net;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>
/// What a teacher can set on the video server. The defaults stream the clip as recorded, without loss, on loopback.
/// Loss, delay and jitter are applied to each RTP packet (seeded: a run can be repeated), to make experiments.
/// </summary>
public sealed record RtspServerOptions
{
    /// <summary>The port the lab uses (RTSP's own, 554, needs administrator rights).</summary>
    public const int LabPort = 8554;

    /// <summary>The clip the server streams; clients ask for it by <see cref="MjpegClip.Name"/>.</summary>
    public MjpegClip? Clip { get; init; }
    /// <summary>Loopback by default: a lab server is not exposed to the network unless asked.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>The RTSP (TCP) port; 0 = any free port. RTP goes out from a UDP port of its own.</summary>
    public int Port { get; init; }
    /// <summary>Start the clip again at its end (a stream for measurements); otherwise the stream ends with the clip.</summary>
    public bool Loop { get; init; }
    /// <summary>Probability that an RTP packet is not sent.</summary>
    public double LossProbability { get; init; }
    /// <summary>Constant delay added to every RTP packet.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Uniform random extra delay per packet, between 0 and this (packets may overtake each other).</summary>
    public TimeSpan Jitter { get; init; }
    /// <summary>
    /// Draw the jitter once per frame instead of once per packet: a frame's packets are delayed together, as when a whole
    /// frame waits behind other traffic in a queue. Frames then arrive whole but at irregular times.
    /// </summary>
    public bool JitterPerFrame { get; init; }
    /// <summary>Seed for loss and jitter (each session draws from seed + its number); null = different every run.</summary>
    public int? Seed { get; init; }
    /// <summary>The largest RTP payload (RFC 2435 header, tables and scan data); frames larger than that are fragmented.</summary>
    public int MaxPayloadBytes { get; init; } = JpegPayload.DefaultMaxPayload;
    public int MaxSessions { get; init; } = 64;
    /// <summary>Sessions one client address may hold at once (one address must not take every session).</summary>
    public int MaxSessionsPerClient { get; init; } = 32;
    public int MaxConnections { get; init; } = 128;
    public int MaxRequestHeaderBytes { get; init; } = 8192;
    /// <summary>A connection that sends no request for this long is closed, and its sessions end (RTSP's session timeout).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int LogCapacity { get; init; } = 1000;
    /// <summary>The student's RTP header packing; null = the library's (<see cref="RtpPacket.WriteHeader"/>).</summary>
    public RtpHeaderWriter? HeaderWriter { get; init; }

    internal void Validate()
    {
        if (Clip is null) throw new ServerStartException("The video server needs a clip: set Clip (MjpegClip.Load(\"data/video/testsrc-320x240-10fps.mjpeg\")) or pass --clip FILE.");
        Check(LossProbability is >= 0 and <= 1, $"A loss probability is between 0 and 1, not {LossProbability}.");
        Check(Delay >= TimeSpan.Zero && Jitter >= TimeSpan.Zero && Delay + Jitter <= TimeSpan.FromSeconds(10), "Delay and jitter are 0–10 s.");
        Check(MaxPayloadBytes is >= 256 and <= 65000, $"MaxPayloadBytes is 256–65000, not {MaxPayloadBytes}.");
        Check(MaxSessions > 0 && MaxSessionsPerClient > 0 && MaxConnections > 0, "Session and connection limits must be at least 1.");
        Check(MaxRequestHeaderBytes >= 256, "MaxRequestHeaderBytes must be at least 256.");
        Check(SessionTimeout > TimeSpan.Zero, "SessionTimeout must be positive.");
        Check(LogCapacity >= 0, "LogCapacity cannot be negative.");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok) throw new ServerStartException(message);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetLabs.Video;

/// <summary>
/// Sends one session's clip as RTP/JPEG packets, paced at the clip's frame rate: frame n leaves at start + n / fps,
/// whatever the time spent before (no drift). Each packet may be dropped, or delayed by the options' delay plus
/// uniform jitter, drawn from the session's own seeded <see cref="Random"/>. Delayed packets wait in a queue
/// ordered by their due time, bounded by <see cref="MaxDelayedPackets"/>.
/// </summary>
internal sealed class RtpStreamer
{
    private const int MaxDelayedPackets = 10_000;

    private readonly Socket _socket;
    private readonly RtspServerOptions _options;
    private readonly MjpegClip _clip;
    private readonly Random _random;
    private readonly double _ticksPerFrame;
    private readonly Action<int, int, int> _sent; // packets sent, packets dropped, bytes sent

    public RtpStreamer(Socket socket, RtspServerOptions options, Random random, Action<int, int, int> sent)
    {
        _socket = socket;
        _options = options;
        _clip = options.Clip!;
        _random = random;
        _sent = sent;
        _ticksPerFrame = RtpPacket.VideoClockRate / _clip.FramesPerSecond;
        Ssrc = (uint)random.NextInt64(0, uint.MaxValue);
        NextSequence = (ushort)random.Next(0, 65536);
        BaseTimestamp = (uint)random.NextInt64(0, uint.MaxValue);
    }

    public uint Ssrc { get; }
    public uint BaseTimestamp { get; }
    /// <summary>The sequence number of the next packet (what PLAY's RTP-Info announces).</summary>
    public ushort NextSequence { get; private set; }
    /// <summary>Frames sent so far since the first PLAY (counting loops): where PLAY after PAUSE resumes.</summary>
    public long NextFrame { get; private set; }
    public bool Ended => !_options.Loop && NextFrame >= _clip.Frames.Count;
    public uint TimestampOf(long frame) => unchecked(BaseTimestamp + (uint)(long)Math.Round(frame * _ticksPerFrame));

    private static readonly TimeSpan TimerResolution = TimeSpan.FromMilliseconds(1);

    /// <summary>Streams until the clip ends (unless looping) or <paramref name="cancellationToken"/> (PAUSE, TEARDOWN, stop).</summary>
    public async Task RunAsync(IPEndPoint client, CancellationToken cancellationToken)
    {
        var delayed = new PriorityQueue<byte[], long>();
        var start = Stopwatch.GetTimestamp();
        var firstFrame = NextFrame;
        var frequency = Stopwatch.Frequency;
        var resolutionTicks = (long)(TimerResolution.TotalSeconds * frequency);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var frameDue = Ended ? long.MaxValue : start + (long)((NextFrame - firstFrame) * frequency / _clip.FramesPerSecond);
                if (frameDue == long.MaxValue && delayed.Count == 0) return;
                var due = delayed.TryPeek(out _, out var packetDue) ? Math.Min(packetDue, frameDue) : frameDue;
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                // Task.Delay counts whole milliseconds: a shorter wait returns at once, and the loop spun a core until
                // the frame was due (about 130 µs of CPU per packet at 1600 frames/s). What is due within the timer's
                // resolution is sent now, up to a millisecond early, as a sleep would have sent it up to one late.
                if (wait >= TimerResolution) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                var horizon = now + resolutionTicks;
                while (delayed.TryPeek(out var packet, out var at) && at <= horizon)
                {
                    delayed.Dequeue();
                    Send(packet, client);
                }
                if (horizon >= frameDue) SendFrame(client, delayed, now);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { } // the server stopped
    }

    private void SendFrame(IPEndPoint client, PriorityQueue<byte[], long> delayed, long now)
    {
        var image = _clip.Frames[(int)(NextFrame % _clip.Frames.Count)];
        var timestamp = TimestampOf(NextFrame);
        var payloads = JpegPayload.Packetize(image, _options.MaxPayloadBytes);
        var frameJitter = _options.JitterPerFrame ? Jitter() : TimeSpan.Zero;
        for (var i = 0; i < payloads.Count; i++)
        {
            var packet = new RtpPacket
            {
                Marker = i == payloads.Count - 1,
                SequenceNumber = NextSequence,
                Timestamp = timestamp,
                Ssrc = Ssrc,
                Payload = payloads[i],
            }.ToBytes(_options.HeaderWriter);
            NextSequence = unchecked((ushort)(NextSequence + 1));
            if (_options.LossProbability > 0 && _random.NextDouble() < _options.LossProbability)
            {
                _sent(0, 1, 0);
                continue;
            }
            var delay = _options.Delay + (_options.JitterPerFrame ? frameJitter : Jitter());
            if (delay <= TimeSpan.Zero) Send(packet, client);
            else if (delayed.Count < MaxDelayedPackets) delayed.Enqueue(packet, now + (long)(delay.TotalSeconds * Stopwatch.Frequency));
            else _sent(0, 1, 0);
        }
        NextFrame++;
    }

    private TimeSpan Jitter() => _options.Jitter > TimeSpan.Zero ? _options.Jitter * _random.NextDouble() : TimeSpan.Zero;

    private void Send(byte[] packet, IPEndPoint client)
    {
        try
        {
            _socket.SendTo(packet, SocketFlags.None, client);
            _sent(1, 0, packet.Length);
        }
        catch (SocketException)
        {
            _sent(0, 1, 0); // the client's port is closed (ICMP unreachable) or its buffer full: its loss, not our crash
        }
    }
}

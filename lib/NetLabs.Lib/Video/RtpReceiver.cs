using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Video;

/// <summary>Limits and knobs of the RTP receiver.</summary>
public sealed record RtpReceiverOptions
{
    /// <summary>Loopback by default; a client of a server on another machine listens on <see cref="IPAddress.Any"/>.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;
    /// <summary>The UDP port for RTP (0 = any free one; RTP ports are even by convention, RTCP is the next).</summary>
    public int Port { get; init; }
    /// <summary>The stream's frame rate when known (SDP a=framerate); null = taken from the timestamps.</summary>
    public double? FramesPerSecond { get; init; }
    /// <summary>How long an incomplete frame waits for its late packets once a newer frame is complete.</summary>
    public TimeSpan ReorderWindow { get; init; } = TimeSpan.FromMilliseconds(50);
    public int MaxFrameBytes { get; init; } = 1 << 20;
    /// <summary>Frames being assembled at once; beyond, the oldest is given up.</summary>
    public int MaxPendingFrames { get; init; } = 16;
    /// <summary>Completed frames waiting to be read from <see cref="RtpReceiver.Frames"/>; beyond, the oldest is dropped.</summary>
    public int FrameQueueCapacity { get; init; } = 256;
    /// <summary>Packets and frames remembered for charts (the counters count everything).</summary>
    public int HistoryCapacity { get; init; } = 100_000;
}

/// <summary>What the receiver measured, in RFC 3550's terms (§6.4.1, Appendix A.1 and A.8).</summary>
public sealed record RtpReceiverStatistics(long PacketsReceived, long PacketsExpected, long PacketsLost, long PacketsLate, long PacketsDuplicate,
    long PacketsInvalid, long FramesComplete, long FramesLost, long FramesLate, double JitterMs, long PayloadBytes, TimeSpan Duration)
    : IHtmlDisplay
{
    /// <summary>Lost ÷ expected (0 when nothing was expected).</summary>
    public double LossFraction => PacketsExpected == 0 ? 0 : (double)PacketsLost / PacketsExpected;
    public double FramesPerSecond => Duration > TimeSpan.Zero ? FramesComplete / Duration.TotalSeconds : 0;
    public double KilobitsPerSecond => Duration > TimeSpan.Zero ? PayloadBytes * 8 / 1000.0 / Duration.TotalSeconds : 0;

    public HtmlTable ToTable(string caption = "RTP receiver") => new(caption, ["measure", "value"],
    [
        ["packets received / expected", $"{PacketsReceived} / {PacketsExpected}"],
        ["packets lost", Inv($"{PacketsLost} ({LossFraction:P1})")],
        ["packets late / duplicate / not RTP", $"{PacketsLate} / {PacketsDuplicate} / {PacketsInvalid}"],
        ["frames complete / lost / late", $"{FramesComplete} / {FramesLost} / {FramesLate}"],
        ["interarrival jitter (RFC 3550)", Inv($"{JitterMs:F2} ms")],
        ["frame rate", Inv($"{FramesPerSecond:F1} frames/s")],
        ["data rate", Inv($"{KilobitsPerSecond:F0} kbit/s")],
    ]);

    public string ToHtml() => ToTable().ToHtml();

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => Inv(
        $"{PacketsReceived} packets ({PacketsLost} lost of {PacketsExpected}, {PacketsLate} late), {FramesComplete} frames ({FramesLost} lost), jitter {JitterMs:F2} ms, {FramesPerSecond:F1} frames/s, {KilobitsPerSecond:F0} kbit/s");
}

/// <summary>
/// The client's RTP side: a UDP socket that receives RTP/JPEG, puts each frame back together from its fragments
/// (in any order), and hands complete frames out in timestamp order on <see cref="Frames"/>. It counts what RFC 3550
/// counts (expected from the highest sequence number, lost, interarrival jitter) and what a viewer sees (frames
/// complete, lost, late). Garbage and truncated datagrams are counted and skipped. Memory is bounded by the options.
/// </summary>
public sealed class RtpReceiver : IAsyncDisposable, IHtmlDisplay
{
    private readonly Socket _socket;
    private readonly RtpReceiverOptions _options;
    private readonly Channel<VideoFrame> _frames;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SortedDictionary<long, JpegFrameAssembler> _pending = []; // by extended timestamp
    private readonly List<ReceivedPacket> _packets = [];
    private readonly List<VideoFrame> _frameLog = []; // frames without their JPEG bytes, for the playout experiment
    private readonly object _lock = new();
    private long _started;
    private bool _first = true;
    private uint? _ssrc;
    private long _baseSequence, _maxSequence, _received, _late, _duplicate, _invalid, _framesComplete, _framesLate, _payloadBytes;
    private long _firstTimestamp, _lastEmittedTimestamp = long.MinValue, _lastTimestampExtended;
    private long? _nextSequence; // the sequence number after the last frame handed out or given up
    private long? _firstFrameNumber, _lastFrameNumber;
    private double _jitter, _ticksPerFrame;
    private double? _lastTransit;
    private TimeSpan _lastArrival;
    private readonly HashSet<long> _recentSequences = [];
    private readonly HashSet<long> _givenUp = [];
    private readonly Queue<long> _recentOrder = new();

    private RtpReceiver(Socket socket, RtpReceiverOptions options)
    {
        _socket = socket;
        _options = options;
        _ticksPerFrame = options.FramesPerSecond is { } fps ? RtpPacket.VideoClockRate / fps : 0;
        _frames = Channel.CreateBounded<VideoFrame>(new BoundedChannelOptions(options.FrameQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = true,
        });
        _thread = new Thread(Run) { IsBackground = true, Name = $"RTP receiver {socket.LocalEndPoint}" };
        _thread.Start();
    }

    /// <summary>Binds the RTP port and starts receiving.</summary>
    public static RtpReceiver Start(RtpReceiverOptions? options = null)
    {
        options ??= new RtpReceiverOptions();
        var socket = Listener.BindUdp(options.Address, options.Port, "the RTP receiver", 0);
        return new RtpReceiver(socket, options);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;
    public int Port => EndPoint.Port;
    /// <summary>Complete frames in timestamp order, as they are put together.</summary>
    public ChannelReader<VideoFrame> Frames => _frames.Reader;

    /// <summary>Every packet received (up to the history capacity), in arrival order.</summary>
    public IReadOnlyList<ReceivedPacket> Packets { get { lock (_lock) return [.. _packets]; } }
    /// <summary>Every frame handed out (without its JPEG bytes), in order.</summary>
    public IReadOnlyList<VideoFrame> FrameHistory { get { lock (_lock) return [.. _frameLog]; } }

    public RtpReceiverStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                var expected = _first ? 0 : _maxSequence - _baseSequence + 1;
                var framesLost = _firstFrameNumber is { } f && _lastFrameNumber is { } l ? Math.Max(0, l - f + 1 - _framesComplete) : 0;
                return new RtpReceiverStatistics(_received, expected, Math.Max(0, expected - (_received - _duplicate - _late)), _late, _duplicate, _invalid,
                    _framesComplete, framesLost, _framesLate, _jitter / RtpPacket.VideoClockRate * 1000, _payloadBytes,
                    _first ? TimeSpan.Zero : _lastArrival);
            }
        }
    }

    private void Run()
    {
        var buffer = new byte[65536];
        EndPoint from = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            _socket.ReceiveTimeout = 20; // wakes up to give up on stale frames and to see the stop
            while (!_stop.IsCancellationRequested)
            {
                int length;
                try { length = _socket.ReceiveFrom(buffer, ref from); }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    lock (_lock) Flush(Now(), force: false);
                    continue;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize) { continue; }
                lock (_lock) OnDatagram(buffer.AsMemory(0, length), Now());
            }
        }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
        finally
        {
            lock (_lock) Flush(TimeSpan.MaxValue, force: true);
            _frames.Writer.TryComplete();
            _ended.TrySetResult();
        }
    }

    private TimeSpan Now() => _started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_started);

    private void OnDatagram(ReadOnlyMemory<byte> datagram, TimeSpan at)
    {
        if (!RtpPacket.TryParse(datagram, out var packet, out _) || packet.PayloadType != RtpPacket.JpegPayloadType)
        {
            _invalid++;
            return;
        }
        JpegFragment fragment;
        try { fragment = JpegFragment.Parse(packet.Payload); }
        catch (RtpFormatException) { _invalid++; return; }
        if (_ssrc is { } ssrc && ssrc != packet.Ssrc) { _invalid++; return; } // another source on our port: not our stream
        if (_first)
        {
            _started = Stopwatch.GetTimestamp();
            at = TimeSpan.Zero;
            _ssrc = packet.Ssrc;
            _baseSequence = _maxSequence = packet.SequenceNumber;
            _firstTimestamp = _lastTimestampExtended = packet.Timestamp;
            _first = false;
        }
        _received++;
        _payloadBytes += packet.Payload.Length;
        _lastArrival = at;
        var sequence = Extend(packet.SequenceNumber, _maxSequence, 16);
        if (!Remember(sequence)) { _duplicate++; return; }
        if (sequence > _maxSequence) _maxSequence = sequence;
        if (sequence < _baseSequence) _baseSequence = sequence; // an earlier packet overtaken by the first one: expected too
        var timestamp = Extend(packet.Timestamp, _lastTimestampExtended, 32);
        if (timestamp > _lastTimestampExtended) _lastTimestampExtended = timestamp;
        UpdateJitter(at, timestamp);
        if (_packets.Count < _options.HistoryCapacity)
            _packets.Add(new ReceivedPacket(at, packet.SequenceNumber, packet.Timestamp, datagram.Length, packet.Marker, _jitter / RtpPacket.VideoClockRate * 1000));
        if (timestamp <= _lastEmittedTimestamp)
        {
            _late++; // its frame was shown or given up already
            if (_givenUp.Remove(timestamp)) _framesLate++; // a frame given up that was still on its way
            return;
        }
        if (!_pending.TryGetValue(timestamp, out var frame))
        {
            frame = new JpegFrameAssembler(packet.Timestamp, at, _options.MaxFrameBytes);
            _pending[timestamp] = frame;
        }
        frame.Add(fragment, packet.Marker, sequence);
        Flush(at, force: false);
    }

    // RFC 3550 A.8: J += (|D| − J) / 16, with D the change in transit time (arrival in RTP clock units − timestamp).
    private void UpdateJitter(TimeSpan at, long timestamp)
    {
        var transit = at.TotalSeconds * RtpPacket.VideoClockRate - (timestamp - _firstTimestamp);
        if (_lastTransit is { } last) _jitter += (Math.Abs(transit - last) - _jitter) / 16;
        _lastTransit = transit;
    }

    // A 16- or 32-bit counter that wraps, made monotonic: the value nearest to the reference.
    private static long Extend(uint value, long reference, int bits)
    {
        var modulus = 1L << bits;
        var candidate = (reference & ~(modulus - 1)) | value;
        if (candidate - reference > modulus / 2) candidate -= modulus;
        else if (reference - candidate > modulus / 2) candidate += modulus;
        return candidate;
    }

    // Duplicates are recognised among the last 1024 sequence numbers (bounded memory).
    private bool Remember(long sequence)
    {
        if (!_recentSequences.Add(sequence)) return false;
        _recentOrder.Enqueue(sequence);
        if (_recentOrder.Count > 1024) _recentSequences.Remove(_recentOrder.Dequeue());
        return true;
    }

    // Hands out complete frames in timestamp order. An incomplete frame blocks newer complete ones for at most the
    // reorder window (its late packets may still come); after that, or when too many frames wait, it is given up. A
    // complete frame after a gap in the sequence numbers waits as long: the gap may be a whole earlier frame that the
    // network let this one overtake.
    private void Flush(TimeSpan now, bool force)
    {
        while (_pending.Count > 0)
        {
            var (timestamp, oldest) = _pending.First();
            if (oldest.IsComplete)
            {
                var gapBefore = _nextSequence is { } next && oldest.LowestSequence > next;
                if (gapBefore && !force && now - oldest.FirstPacketAt <= _options.ReorderWindow && _pending.Count <= _options.MaxPendingFrames) break;
                _pending.Remove(timestamp);
                MovePast(oldest);
                Emit(timestamp, oldest, now);
                continue;
            }
            var newerComplete = _pending.Skip(1).Any(p => p.Value.IsComplete);
            var stale = now - oldest.FirstPacketAt > _options.ReorderWindow && newerComplete;
            if (force || stale || oldest.TooLarge || _pending.Count > _options.MaxPendingFrames)
            {
                _pending.Remove(timestamp);
                _lastEmittedTimestamp = Math.Max(_lastEmittedTimestamp, timestamp); // its stragglers are late now
                MovePast(oldest);
                _givenUp.Add(timestamp);
                if (_givenUp.Count > 64) _givenUp.Remove(_givenUp.Min());
                continue;
            }
            break;
        }
    }

    /// <summary>A frame handed out or given up: sequence numbers up to its last packet's are accounted for.</summary>
    private void MovePast(JpegFrameAssembler frame)
    {
        if (frame.HighestSequence != long.MinValue) _nextSequence = Math.Max(_nextSequence ?? long.MinValue, frame.HighestSequence + 1);
    }

    private void Emit(long timestamp, JpegFrameAssembler frame, TimeSpan now)
    {
        if (_ticksPerFrame <= 0 && _lastEmittedTimestamp != long.MinValue && timestamp > _lastEmittedTimestamp)
            _ticksPerFrame = timestamp - _lastEmittedTimestamp; // the first two frames give the rate when nobody said it
        _lastEmittedTimestamp = timestamp;
        var number = _ticksPerFrame > 0 ? (long)Math.Round((timestamp - _firstTimestamp) / _ticksPerFrame) : _framesComplete;
        var (jpeg, width, height) = frame.Build();
        var video = new VideoFrame(number, frame.Timestamp, jpeg, width, height, frame.Packets, frame.FirstPacketAt, now == TimeSpan.MaxValue ? _lastArrival : now);
        _framesComplete++;
        _firstFrameNumber ??= number;
        _lastFrameNumber = number;
        if (_frameLog.Count < _options.HistoryCapacity) _frameLog.Add(video with { Jpeg = [] });
        _frames.Writer.TryWrite(video);
    }

    /// <summary>Waits for the next frame, at most <paramref name="timeout"/>; null when none came or the stream ended.</summary>
    public async Task<VideoFrame?> NextFrameAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            return await _frames.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { return null; }
        catch (ChannelClosedException) { return null; }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) _stop.Cancel();
        await _ended.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
    }

    public string ToHtml() => Statistics.ToTable($"RTP receiver on {EndPoint}").ToHtml();
    public override string ToString() => $"RTP receiver on {EndPoint}: {Statistics}";
}

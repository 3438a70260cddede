using System.Net;

namespace NetLabs.Video;

/// <summary>Where an RTSP session is (RFC 2326 Appendix A): set up and waiting, or playing.</summary>
public enum RtspSessionState { Ready, Playing }

/// <summary>
/// One client's session on the server: its id, where its RTP goes, and its stream, which PLAY starts, PAUSE stops
/// (keeping the position) and TEARDOWN ends. Requests on one connection come one at a time; the lock guards the
/// session against a second connection naming the same id.
/// </summary>
internal sealed class RtspSession(string id, IPAddress client, IPEndPoint destination, RtpStreamer streamer)
{
    private static readonly TimeSpan StreamStopWait = TimeSpan.FromSeconds(2);

    private readonly object _lock = new();
    private CancellationTokenSource? _playing;
    private Task _run = Task.CompletedTask;

    public string Id { get; } = id;
    public IPAddress Client { get; } = client;
    public IPEndPoint Destination { get; private set; } = destination;
    public RtpStreamer Streamer { get; } = streamer;
    public RtspSessionState State { get { lock (_lock) return _playing is null ? RtspSessionState.Ready : RtspSessionState.Playing; } }
    /// <summary>The sequence number of the first packet of the latest PLAY (for RTP-Info).</summary>
    public ushort PlaySequence { get; private set; }

    public bool TryChangeDestination(IPEndPoint destination)
    {
        lock (_lock)
        {
            if (_playing is not null) return false;
            Destination = destination;
            return true;
        }
    }

    /// <summary>Starts streaming from where PAUSE left it; a PLAY while playing changes nothing. Returns the frame it plays from.</summary>
    public (bool Started, long Frame) Play(CancellationToken serverStopping, Action endOfClip)
    {
        lock (_lock)
        {
            if (_playing is not null) return (false, Streamer.NextFrame);
            _run.Wait(StreamStopWait); // a paused stream has finished its last send before the next one starts
            _playing = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
            PlaySequence = Streamer.NextSequence;
            var token = _playing.Token;
            var destination = Destination;
            _run = Task.Run(async () =>
            {
                await Streamer.RunAsync(destination, token).ConfigureAwait(false);
                if (!token.IsCancellationRequested) endOfClip();
            });
            return (true, Streamer.NextFrame);
        }
    }

    /// <summary>
    /// Stops the stream and keeps the position; false when the session was not playing. Returns once the stream has
    /// sent its last packet (bounded), so nothing of this session goes out after the PAUSE or TEARDOWN reply.
    /// </summary>
    public bool Pause()
    {
        lock (_lock)
        {
            if (_playing is null) return false;
            _playing.Cancel();
            _playing.Dispose();
            _playing = null;
            _run.Wait(StreamStopWait);
            return true;
        }
    }

    public void Stop() => Pause();

    public async Task StopAsync()
    {
        Pause();
        Task run;
        lock (_lock) run = _run;
        await Task.WhenAny(run, Task.Delay(StreamStopWait)).ConfigureAwait(false);
    }
}

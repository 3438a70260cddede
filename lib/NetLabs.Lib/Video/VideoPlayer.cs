using System.Globalization;
using System.Net;
using NetLabs.Display;

namespace NetLabs.Video;

/// <summary>
/// The lab's client, whole: the RTSP dialogue (OPTIONS, DESCRIBE, SETUP, PLAY … TEARDOWN) of an
/// <see cref="RtspClient"/> and the RTP stream of an <see cref="RtpReceiver"/> on the port SETUP asked for. The
/// notebook and <c>netlabs video play</c> use it.
/// </summary>
public sealed class VideoPlayer : IAsyncDisposable, IHtmlDisplay
{
    private VideoPlayer(RtspClient rtsp, RtpReceiver receiver, string description, double? framesPerSecond)
    {
        Rtsp = rtsp;
        Receiver = receiver;
        Description = description;
        FramesPerSecond = framesPerSecond;
    }

    public RtspClient Rtsp { get; }
    public RtpReceiver Receiver { get; }
    /// <summary>The SDP DESCRIBE returned.</summary>
    public string Description { get; }
    /// <summary>The SDP's <c>a=framerate</c>, when it has one.</summary>
    public double? FramesPerSecond { get; }
    public RtspTranscript Transcript => Rtsp.Transcript;
    public RtpReceiverStatistics Statistics => Receiver.Statistics;

    /// <summary>
    /// Connects, describes, sets up RTP to a new receiver and plays. The receiver listens on
    /// <paramref name="receiverAddress"/> (loopback for a server on loopback, otherwise every interface) and
    /// <paramref name="receiverPort"/> (0 = a free one; a fixed one for a firewall to let in).
    /// </summary>
    public static async Task<VideoPlayer> OpenAsync(string url, RtspClientOptions? options = null, IPAddress? receiverAddress = null,
        TimeSpan? reorderWindow = null, int receiverPort = 0, CancellationToken cancellationToken = default)
    {
        var rtsp = await RtspClient.ConnectAsync(url, options, cancellationToken).ConfigureAwait(false);
        RtpReceiver? receiver = null;
        try
        {
            await rtsp.OptionsAsync(cancellationToken).ConfigureAwait(false);
            var sdp = await rtsp.DescribeAsync(cancellationToken).ConfigureAwait(false);
            var fps = FrameRate(sdp);
            var receiverOptions = new RtpReceiverOptions { Address = receiverAddress ?? LocalAddressFor(url), Port = receiverPort, FramesPerSecond = fps };
            if (reorderWindow is { } window) receiverOptions = receiverOptions with { ReorderWindow = window };
            receiver = RtpReceiver.Start(receiverOptions);
            await rtsp.SetupAsync(receiver.Port, cancellationToken).ConfigureAwait(false);
            await rtsp.PlayAsync(cancellationToken).ConfigureAwait(false);
            return new VideoPlayer(rtsp, receiver, sdp, fps);
        }
        catch
        {
            if (receiver is not null) await receiver.DisposeAsync().ConfigureAwait(false);
            await rtsp.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // A server on loopback sends to loopback; one elsewhere needs the receiver reachable from the network.
    private static IPAddress LocalAddressFor(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var host) && IPAddress.IsLoopback(host)
            ? host
            : uri?.IsLoopback == true ? IPAddress.Loopback : IPAddress.Any;

    private static double? FrameRate(string sdp) =>
        sdp.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("a=framerate:", StringComparison.Ordinal)) is { } line &&
        double.TryParse(line["a=framerate:".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var fps) && fps > 0 ? fps : null;

    /// <summary>
    /// Hands each frame to <paramref name="onFrame"/> as it is complete, until <paramref name="count"/> frames came,
    /// the stream ended, or no frame came for <paramref name="idleTimeout"/>. Returns how many came.
    /// </summary>
    public async Task<int> ReceiveAsync(int count, Action<VideoFrame> onFrame, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        var received = 0;
        while (received < count && await Receiver.NextFrameAsync(idleTimeout, cancellationToken).ConfigureAwait(false) is { } frame)
        {
            received++;
            onFrame(frame);
        }
        return received;
    }

    public Task<RtspMessage> PauseAsync(CancellationToken cancellationToken = default) => Rtsp.PauseAsync(cancellationToken);
    public Task<RtspMessage> PlayAsync(CancellationToken cancellationToken = default) => Rtsp.PlayAsync(cancellationToken);
    public Task<RtspMessage?> TeardownAsync(CancellationToken cancellationToken = default) => Rtsp.TeardownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Rtsp.Session is not null)
        {
            try { await Rtsp.TeardownAsync().ConfigureAwait(false); }
            catch (RtspException) { } // the server may be gone already: closing is all that is left
        }
        await Rtsp.DisposeAsync().ConfigureAwait(false);
        await Receiver.DisposeAsync().ConfigureAwait(false);
    }

    public string ToHtml() => Statistics.ToTable($"Playing {Rtsp.Url}").ToHtml();
    public override string ToString() => $"Playing {Rtsp.Url}: {Statistics}";
}

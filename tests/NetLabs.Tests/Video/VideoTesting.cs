using NetLabs.Tests.Support;
using NetLabs.Video;

namespace NetLabs.Tests.Video;

/// <summary>The lab's clip, and servers that stream it fast enough for tests.</summary>
internal static class VideoTesting
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public static string ClipPath => Path.Combine(RepoPaths.Data, "video", "testsrc-320x240-10fps.mjpeg");

    private static readonly Lazy<MjpegClip> LabClip = new(() => MjpegClip.Load(ClipPath));
    public static MjpegClip Clip => LabClip.Value;

    /// <summary>The lab's clip played faster (50 frames/s), so a whole clip streams in 0.6 s.</summary>
    public static MjpegClip FastClip(double framesPerSecond = 50) => new(Clip.Name, Clip.Frames, framesPerSecond);

    public static RtspServer StartServer(RtspServerOptions? options = null) =>
        RtspServer.Start((options ?? new RtspServerOptions()) with { Clip = options?.Clip ?? FastClip() });

    /// <summary>OPTIONS, DESCRIBE, SETUP to a new receiver, PLAY: the whole client side of the lab.</summary>
    public static async Task<(RtspClient Client, RtpReceiver Receiver)> PlayAsync(string url, RtpReceiverOptions? receiverOptions = null)
    {
        var client = await RtspClient.ConnectAsync(url);
        var receiver = RtpReceiver.Start(receiverOptions);
        try
        {
            await client.OptionsAsync();
            await client.DescribeAsync();
            await client.SetupAsync(receiver.Port);
            await client.PlayAsync();
            return (client, receiver);
        }
        catch
        {
            await client.DisposeAsync();
            await receiver.DisposeAsync();
            throw;
        }
    }

    public static async Task<List<VideoFrame>> FramesAsync(RtpReceiver receiver, int count)
    {
        var frames = new List<VideoFrame>();
        while (frames.Count < count && await receiver.NextFrameAsync(Wait) is { } frame) frames.Add(frame);
        return frames;
    }

    /// <summary>A raw TCP connection that sends RTSP text as given, for requests a well-behaved client never sends.</summary>
    public static async Task<string> ExchangeAsync(System.Net.Sockets.NetworkStream stream, string request)
    {
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request)).AsTask().WaitAsync(Wait);
        var reader = new RtspMessageReader(stream);
        var reply = await reader.ReadAsync().WaitAsync(Wait);
        return reply?.ToString() ?? "";
    }
}

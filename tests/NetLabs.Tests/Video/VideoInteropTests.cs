using NetLabs.Tests.Support;
using NetLabs.Video;
using static NetLabs.Tests.Video.VideoTesting;

namespace NetLabs.Tests.Video;

/// <summary>Real peers: Debian's ffmpeg as RTSP client (and decoder), VLC as an independent RTSP server.</summary>
public class VideoInteropTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Ffmpeg_plays_our_stream_over_UDP_and_decodes_frames_at_the_clip_size()
    {
        var ffmpeg = ExternalProcess.Require("ffmpeg", "ffmpeg");
        var ffprobe = ExternalProcess.Require("ffprobe", "ffmpeg");
        await using var server = StartServer(new() { Clip = FastClip(25) });
        var folder = Directory.CreateTempSubdirectory("netlabs-video-");
        try
        {
            var run = await ExternalProcess.RunAsync(ffmpeg,
                ["-hide_banner", "-loglevel", "error", "-rtsp_transport", "udp", "-i", server.Url, "-frames:v", "5", "-f", "image2", Path.Combine(folder.FullName, "frame%02d.jpg")],
                PeerTimeout);
            Assert.True(run.ExitCode == 0, run.ToString());
            var files = folder.GetFiles("frame*.jpg").OrderBy(f => f.Name).ToList();
            Assert.Equal(5, files.Count);
            foreach (var file in files)
            {
                var probe = await ExternalProcess.RunAsync(ffprobe, ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", file.FullName], PeerTimeout);
                Assert.Equal("320,240", probe.StandardOutput.Trim());
            }
            Assert.Contains(server.Log, e => e.Request.StartsWith("TEARDOWN", StringComparison.Ordinal) && e.Status == 200);
            Assert.Contains(server.Log, e => e.Request.StartsWith("SETUP", StringComparison.Ordinal) && e.Request.EndsWith("/trackID=0", StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Ffprobe_reads_our_session_description()
    {
        var ffprobe = ExternalProcess.Require("ffprobe", "ffmpeg");
        await using var server = StartServer(new() { Clip = FastClip(25) });
        var probe = await ExternalProcess.RunAsync(ffprobe,
            ["-v", "error", "-rtsp_transport", "udp", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", server.Url], PeerTimeout);
        Assert.True(probe.ExitCode == 0, probe.ToString());
        Assert.Equal("mjpeg,320,240", probe.StandardOutput.Trim());
    }

    [SkippableFact]
    public async Task Frames_our_receiver_rebuilds_decode_to_the_pixels_of_the_original_JPEGs()
    {
        var ffmpeg = ExternalProcess.Require("ffmpeg", "ffmpeg");
        await using var server = StartServer();
        var (client, receiver) = await PlayAsync(server.Url);
        await using (client)
        await using (receiver)
        {
            var frames = await FramesAsync(receiver, 3);
            Assert.Equal(3, frames.Count);
            var folder = Directory.CreateTempSubdirectory("netlabs-video-");
            try
            {
                foreach (var frame in frames)
                {
                    var received = Path.Combine(folder.FullName, $"received{frame.Number}.jpg");
                    var original = Path.Combine(folder.FullName, $"original{frame.Number}.jpg");
                    await File.WriteAllBytesAsync(received, frame.Jpeg);
                    await File.WriteAllBytesAsync(original, Clip.Frames[(int)frame.Number].File.ToArray());
                    Assert.Equal(await PixelsAsync(ffmpeg, original), await PixelsAsync(ffmpeg, received));
                }
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        }
    }

    private static async Task<string> PixelsAsync(string ffmpeg, string jpeg)
    {
        var run = await ExternalProcess.RunAsync(ffmpeg, ["-v", "error", "-i", jpeg, "-f", "rawvideo", "-pix_fmt", "rgb24", "-frames:v", "1", "-f", "md5", "-"], PeerTimeout);
        Assert.True(run.ExitCode == 0 && run.StandardError.Trim().Length == 0, run.ToString());
        Assert.StartsWith("MD5=", run.StandardOutput.Trim());
        return run.StandardOutput.Trim();
    }

    [SkippableFact]
    public async Task Our_client_plays_a_stream_from_VLC_and_its_frames_decode()
    {
        var cvlc = ExternalProcess.Require("cvlc", "vlc-bin vlc-plugin-base");
        var ffprobe = ExternalProcess.Require("ffprobe", "ffmpeg");
        // VLC refuses to run as root; it streams the clip as the unprivileged user "nobody", who can read a copy in /tmp.
        var runuser = ExternalProcess.Require("runuser", "util-linux");
        var clip = Path.Combine(Path.GetTempPath(), $"netlabs-video-{Guid.NewGuid():N}.mjpeg");
        File.Copy(ClipPath, clip);
        var port = PeerPorts.Free();
        var folder = Directory.CreateTempSubdirectory("netlabs-video-");
        await using var vlc = BackgroundProcess.Start(runuser,
            ["-u", "nobody", "--", cvlc, "-q", "--no-audio", "--demux=mjpeg", "--mjpeg-fps=10", "--loop", clip, "--sout", $"#rtp{{sdp=rtsp://127.0.0.1:{port}/clip}}"]);
        try
        {
            using var deadline = new CancellationTokenSource(PeerTimeout);
            await PeerPorts.WaitUntilListeningAsync(vlc, port, deadline.Token);
            // VLC listens before its stream is ready, and answers DESCRIBE with 500 until then: ask again, bounded.
            RtspClient client;
            RtpReceiver receiver;
            while (true)
            {
                try
                {
                    (client, receiver) = await PlayAsync($"rtsp://127.0.0.1:{port}/clip");
                    break;
                }
                catch (RtspException e) when (e.StatusCode == 500 && !deadline.IsCancellationRequested)
                {
                    await Task.Delay(200, deadline.Token);
                }
            }
            await using (client)
            await using (receiver)
            {
                var frames = await FramesAsync(receiver, 5);
                Assert.True(frames.Count == 5, $"{frames.Count} frames from VLC; {receiver.Statistics}\n{client.Transcript}");
                foreach (var frame in frames)
                {
                    var file = Path.Combine(folder.FullName, $"frame{frame.Number}.jpg");
                    await File.WriteAllBytesAsync(file, frame.Jpeg);
                    var probe = await ExternalProcess.RunAsync(ffprobe, ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", file], PeerTimeout);
                    Assert.True(probe.StandardOutput.Trim() == "320,240" && probe.StandardError.Length == 0, probe.ToString());
                }
                await client.TeardownAsync(); // VLC closes the connection instead of answering
            }
        }
        finally
        {
            File.Delete(clip);
            folder.Delete(recursive: true);
        }
    }
}

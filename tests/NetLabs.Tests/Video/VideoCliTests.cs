using NetLabs.Tests.Support;

namespace NetLabs.Tests.Video;

/// <summary><c>netlabs video serve</c> and <c>netlabs video play</c>, across two network namespaces, as in a classroom.</summary>
public sealed class VideoCliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [SkippableFact]
    public async Task Video_plays_across_two_hosts_and_frames_are_saved()
    {
        await using var hosts = await TwoHosts.CreateAsync();
        var server = hosts.ServerAddress.ToString();
        var folder = Directory.CreateTempSubdirectory("netlabs-video-cli-");
        try
        {
            await using var video = BackgroundProcess.Start("ip", TwoHosts.InNamespace(hosts.ServerNamespace, "dotnet",
                NetlabsTool.Arguments("video", "serve", "--bind", server, "--port", "8554", "--clip", VideoTesting.ClipPath, "--fps", "25")));
            await video.WaitForLineAsync(l => l.Contains($"rtsp://{server}:8554/testsrc-320x240-10fps"), Wait);
            var play = await ExternalProcess.RunAsync("ip", TwoHosts.InNamespace(hosts.ClientNamespace, "dotnet",
                NetlabsTool.Arguments("video", "play", $"rtsp://{server}:8554/testsrc-320x240-10fps", "--frames", "10", "--out", folder.FullName)), Wait);
            Assert.True(play.ExitCode == 0, play + video.Output);
            Assert.Matches(@"\d+ frames \(0 lost\)", play.StandardOutput); // the receiver may have completed one more than were saved
            Assert.Contains("10 frames saved in", play.StandardOutput);
            Assert.Equal(10, folder.GetFiles("frame*.jpg").Length);
            Assert.All(folder.GetFiles("frame*.jpg"), f => Assert.Equal(new byte[] { 0xFF, 0xD8 }, File.ReadAllBytes(f.FullName)[..2]));
            // The server saw the other host's address, and the session ended with TEARDOWN.
            await video.WaitForLineAsync(l => l.Contains($"{hosts.ClientAddress}:") && l.Contains("TEARDOWN") && l.Contains("-> 200"), Wait);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task Play_through_a_playout_buffer_saves_the_frames_shown_and_counts_the_frozen_ones()
    {
        await using var server = VideoTesting.StartServer(new() { Jitter = TimeSpan.FromMilliseconds(100), JitterPerFrame = true, Seed = 3 });
        var folder = Directory.CreateTempSubdirectory("netlabs-video-buffer-");
        try
        {
            var play = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments(["video", "play", server.Url, "--buffer", "8", "--out", folder.FullName, "--timeout", "1s"]), Wait);
            Assert.True(play.ExitCode == 0, play.ToString());
            var line = Assert.Single(play.StandardOutput.Split('\n'), l => l.StartsWith("buffer 8 frames (160 ms"));
            var played = int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"(\d+) played").Groups[1].Value);
            Assert.InRange(played, 1, VideoTesting.Clip.Frames.Count);
            Assert.Equal(played, folder.GetFiles("frame*.jpg").Length);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        var wrong = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments(["video", "play", server.Url, "--buffer", "-1"]), Wait);
        Assert.Equal("netlabs: --buffer is a number of frames from 0 to 1000.", wrong.StandardError.Trim());
    }

    [SkippableFact]
    public async Task Play_errors_are_one_line()
    {
        var refused = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments(["video", "play", $"rtsp://127.0.0.1:{PeerPorts.Free()}/clip"]), Wait);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("netlabs: Cannot connect to the RTSP server 127.0.0.1:", refused.StandardError.Trim());
        Assert.Single(refused.StandardError.Trim().Split('\n'));
        var notRtsp = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments(["video", "play", "http://example.test/"]), Wait);
        Assert.Equal("netlabs: \"http://example.test/\" is not an RTSP URL: write rtsp://HOST:PORT/NAME.", notRtsp.StandardError.Trim());
        var noClip = await ExternalProcess.RunAsync("dotnet", NetlabsTool.Arguments(["video", "serve", "--port", "0", "--clip", "/nonexistent.mjpeg"]), Wait);
        Assert.Equal(1, noClip.ExitCode);
        Assert.StartsWith("netlabs: The clip /nonexistent.mjpeg does not exist", noClip.StandardError.Trim());
    }
}

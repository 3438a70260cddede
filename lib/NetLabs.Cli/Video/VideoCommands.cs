using System.CommandLine;
using System.Globalization;
using NetLabs.Cli.CommandLine;
using NetLabs.Video;

namespace NetLabs.Cli.Video;

/// <summary><c>netlabs video serve</c> and <c>netlabs video play URL</c>: lab 7 across the room.</summary>
internal static class VideoCommands
{
    public static Command Create() => new("video", "Stream a Motion-JPEG clip with RTSP and RTP (lab 7), or play such a stream.") { Serve(), Play() };

    private static Command Serve()
    {
        var port = new Option<int>("--port") { Description = "RTSP (TCP) port; RTP leaves from a UDP port pair of its own. 0 = any free port.", DefaultValueFactory = _ => RtspServerOptions.LabPort };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var clip = new Option<string?>("--clip") { Description = "MJPEG file to stream (raw MJPEG or the textbook's length-prefixed frames; default: the repository's data/video clip)." };
        var fps = new Option<double>("--fps") { Description = "Frames per second to play the clip at.", DefaultValueFactory = _ => MjpegClip.DefaultFramesPerSecond };
        var loop = new Option<bool>("--loop") { Description = "Start the clip again at its end." };
        var loss = new Option<double>("--loss") { Description = "Probability of dropping an RTP packet." };
        var delay = new Option<double>("--delay-ms") { Description = "Constant delay added to each RTP packet, in ms." };
        var jitter = new Option<double>("--jitter-ms") { Description = "Random extra delay per packet (uniform 0..J ms)." };
        var perFrame = new Option<bool>("--jitter-per-frame") { Description = "Draw the jitter once per frame: a frame's packets are delayed together, frames overtake each other." };
        var seed = new Option<int?>("--seed") { Description = "Seed for reproducible loss and jitter." };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print a line per RTSP request." };
        var command = new Command("serve", "Run the lab's video server (RTSP over TCP, RTP/JPEG over UDP). Ctrl+C stops it.")
        {
            port, bind, clip, fps, loop, loss, delay, jitter, perFrame, seed, quiet,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var path = result.GetValue(clip) ?? DefaultClip();
            await using var server = RtspServer.Start(new RtspServerOptions
            {
                Clip = MjpegClip.Load(path, result.GetValue(fps)),
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Port = result.GetValue(port),
                Loop = result.GetValue(loop),
                LossProbability = result.GetValue(loss),
                Delay = TimeSpan.FromMilliseconds(result.GetValue(delay)),
                Jitter = TimeSpan.FromMilliseconds(result.GetValue(jitter)),
                JitterPerFrame = result.GetValue(perFrame),
                Seed = result.GetValue(seed),
            });
            Terminal.Line($"video server streaming {server.Clip} at {server.Url} (RTSP on tcp {server.EndPoint}, RTP from udp port {server.RtpPort})");
            if (!result.GetValue(quiet)) server.Logged += entry => Terminal.Line(entry.ToString());
            await CliRunner.UntilStoppedAsync(ct);
            await server.StopAsync(TimeSpan.FromSeconds(2));
            var c = server.Counters;
            Terminal.Line($"video server stopped: {c.SessionsOpened} sessions, {c.PacketsSent} RTP packets sent, {c.PacketsDropped} dropped.");
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command Play()
    {
        var url = new Argument<string>("url") { Description = "The stream: rtsp://HOST:PORT/NAME (netlabs video serve prints it)." };
        var frames = new Option<int?>("--frames") { Description = "Stop after this many frames (default: until the stream ends)." };
        var output = new Option<string?>("--out") { Description = "Folder to save each frame in as frameNNNNN.jpg." };
        var rtpPort = new Option<int>("--rtp-port") { Description = "UDP port to receive RTP on (0 = any free one; fix one for a firewall).", DefaultValueFactory = _ => 0 };
        var idle = new Option<string>("--timeout") { Description = "Give up when no frame comes for this long.", DefaultValueFactory = _ => "3s" };
        var buffer = new Option<int?>("--buffer")
        {
            Description = "Play through a playout buffer this many frames deep: frames are shown (and saved) on the player's clock, and frozen frames are counted.",
        };
        var command = new Command("play", "Play an RTSP stream of RTP/JPEG: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN; save frames, print statistics.")
        {
            url, frames, output, rtpPort, idle, buffer,
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var count = result.GetValue(frames) ?? int.MaxValue;
            if (count <= 0) throw new CliFailure("--frames must be at least 1.", 2);
            var folder = result.GetValue(output);
            if (folder is not null) Directory.CreateDirectory(folder);
            var timeout = Endpoints.Duration(result.GetValue(idle)!, "--timeout");
            var depth = result.GetValue(buffer);
            if (depth is < 0 or > 1000) throw new CliFailure("--buffer is a number of frames from 0 to 1000.", 2);
            // RTSP on TCP and the RTP datagrams, whatever ports SETUP picks: everything to and from the server.
            await using var captured = Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var stream) && stream.Host.Length > 0
                ? await capture.StartAsync(result, stream.Host, "", ct) : CaptureSwitch.CapturedRun.None; // a bad URL: VideoPlayer says so
            await using var player = await VideoPlayer.OpenAsync(result.GetValue(url)!, receiverPort: result.GetValue(rtpPort), cancellationToken: ct);
            Terminal.Line($"playing {player.Rtsp.Url} (session {player.Rtsp.Session}, RTP to udp port {player.Receiver.Port})");
            var saved = 0;
            void Save(VideoFrame frame)
            {
                if (folder is null) return;
                File.WriteAllBytes(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"frame{frame.Number:D5}.jpg")), frame.Jpeg);
                saved++;
            }
            PlayoutResult? playout = null;
            if (depth is { } frameTimes)
            {
                // Frames go into the buffer as they arrive while its clock shows them: only frames shown in time are saved.
                var playoutBuffer = new PlayoutBuffer(frameTimes, player.FramesPerSecond ?? MjpegClip.DefaultFramesPerSecond);
                var feeding = Task.Run(async () =>
                {
                    try { await player.ReceiveAsync(count, playoutBuffer.Add, timeout, ct); }
                    finally { playoutBuffer.Complete(); }
                }, ct);
                playout = await playoutBuffer.PlayAsync(slot => { if (!slot.Frozen) Save(slot.Shown!); }, timeout, ct);
                await feeding;
            }
            else await player.ReceiveAsync(count, Save, timeout, ct);
            await player.TeardownAsync(ct);
            var statistics = player.Statistics;
            Terminal.Line(statistics.ToString());
            if (playout is not null) Terminal.Line(playout.ToString());
            if (folder is not null) Terminal.Line($"{saved} frames saved in {Path.GetFullPath(folder)}");
            return statistics.FramesComplete > 0 ? 0 : 1;
        }, cancellationToken));
        return command;
    }

    private static string DefaultClip()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var clip = Path.Combine(dir.FullName, "data", "video", "testsrc-320x240-10fps.mjpeg");
            if (File.Exists(clip)) return clip;
        }
        throw new CliFailure("no clip given and none found in data/video above this folder: pass --clip FILE (an MJPEG file).", 2);
    }
}

using NetLabs.Video;
using static NetLabs.Tests.Video.VideoTesting;

namespace NetLabs.Tests.Video;

public class PlayoutAndDisplayTests
{
    private static VideoFrame Frame(long number) => new(number, 0, [], 320, 240, 1, TimeSpan.Zero, TimeSpan.Zero);

    [Fact]
    public async Task A_deeper_live_playout_buffer_freezes_less_and_delays_more()
    {
        // 2 frames/s (500 ms slots), frames fed live: frame 2 comes 400 ms after its slot without a buffer but 600 ms
        // before it with two frames of buffer; frame 3 never comes. Margins of 300 ms and more, for a loaded machine.
        var schedule = new (long Number, int AtMs)[] { (0, 0), (1, 200), (2, 1400), (4, 1600), (5, 2200) };
        var frames = System.Threading.Channels.Channel.CreateUnbounded<VideoFrame>();
        // The feeder has a thread of its own: on the thread pool, a busy test host woke it more than 300 ms late (CI).
        var fed = new TaskCompletionSource();
        var feederThread = new Thread(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var (number, at) in schedule)
            {
                var wait = at - (int)clock.ElapsedMilliseconds;
                if (wait > 0) Thread.Sleep(wait);
                frames.Writer.TryWrite(Frame(number));
            }
            frames.Writer.Complete();
            fed.SetResult();
        }) { IsBackground = true };
        feederThread.Start();
        var feeder = fed.Task;
        var none = new PlayoutBuffer(0, 2);
        var two = new PlayoutBuffer(2, 2);
        var results = await PlayoutBuffer.PlayThroughAsync(frames.Reader, [none, two], TimeSpan.FromSeconds(3)).WaitAsync(Wait);
        await feeder.WaitAsync(Wait);
        Assert.Equal((0, 2), (results[0].DepthFrames, results[1].DepthFrames));
        Assert.Equal((6, 4, 2, 1, 1), (results[0].Slots, results[0].Played, results[0].Frozen, results[0].Late, results[0].Lost));
        Assert.Equal((6, 5, 1, 0, 1), (results[1].Slots, results[1].Played, results[1].Frozen, results[1].Late, results[1].Lost));
        Assert.Equal(TimeSpan.FromSeconds(1), results[1].Delay);
        Assert.True(results[1].MeanWait > results[0].MeanWait);
        Assert.Contains("buffer 2 frames (1000 ms", results[1].ToString());
    }

    [Fact]
    public async Task Each_slot_shows_its_frame_or_freezes_on_the_previous_one_and_memory_stays_bounded()
    {
        var buffer = new PlayoutBuffer(0, 2.5, capacityFrames: 3); // 400 ms slots: room for a slow test thread
        var slots = new List<PlayoutSlot>();
        var firstShown = new TaskCompletionSource();
        var playing = buffer.PlayAsync(slot => { lock (slots) slots.Add(slot); firstShown.TrySetResult(); }, TimeSpan.FromSeconds(2));
        buffer.Add(Frame(0));
        await firstShown.Task.WaitAsync(Wait);
        foreach (var n in new long[] { 2, 3, 4, 5 }) buffer.Add(Frame(n)); // four waiting, room for three: 2 is dropped
        buffer.Complete();
        var result = await playing.WaitAsync(Wait);
        Assert.Equal(1, result.Dropped);
        Assert.Equal([0, 1, 2, 3, 4, 5], slots.Select(s => s.Number));
        Assert.Equal([false, true, true, false, false, false], slots.Select(s => s.Frozen));
        Assert.Equal([0L, 0, 0, 3, 4, 5], slots.Select(s => s.Shown!.Number));
        Assert.Equal((6, 4, 2), (result.Slots, result.Played, result.Frozen));
    }

    [Fact]
    public async Task A_jittery_stream_played_live_through_buffers_freezes_less_the_deeper_the_buffer()
    {
        // Whole frames delayed by 0–200 ms (seeded) at 25 frames/s: they overtake each other, and the receiver puts them back in order.
        var clip = FastClip(25);
        await using var server = StartServer(new()
        {
            Clip = new MjpegClip(clip.Name, [.. clip.Frames, .. clip.Frames], 25), Jitter = TimeSpan.FromMilliseconds(200), JitterPerFrame = true, Seed = 7,
        });
        await using var player = await VideoPlayer.OpenAsync(server.Url, reorderWindow: TimeSpan.FromMilliseconds(300));
        var results = await PlayoutBuffer.PlayThroughAsync(player.Receiver.Frames, [new PlayoutBuffer(0, 25), new PlayoutBuffer(8, 25)], TimeSpan.FromMilliseconds(600)).WaitAsync(Wait);
        // Reordered, none given up (the very first frame has nothing to wait for: a frame that overtakes it makes it late).
        Assert.Equal(0L, player.Statistics.PacketsLost);
        Assert.InRange(player.Statistics.FramesComplete, 59, 60);
        Assert.All(results, r => Assert.InRange(r.Slots, 59, 60));
        Assert.True(results[0].Frozen > 0);
        Assert.True(results[1].Frozen < results[0].Frozen);
        Assert.True(results[1].MeanWait > results[0].MeanWait);
        Assert.Equal(results[0].Slots, results[0].Played + results[0].Frozen);
    }

    [Fact]
    public void The_header_diagram_reads_every_field_from_the_bits()
    {
        var bytes = new RtpPacket { Marker = true, SequenceNumber = 513, Timestamp = 90_000, Ssrc = 0xCAFEBABE }.ToBytes();
        var diagram = new RtpHeaderDiagram(bytes);
        Assert.Equal("V=2, P=0, X=0, CC=0, M=1, PT=26, sequence number=513, timestamp=90000, SSRC=3405691582", diagram.ToString());
        var html = diagram.ToHtml();
        Assert.Contains("<b>PT</b> = 26<br/><span style=\"font-size:80%;letter-spacing:1px\">0011010</span>", html);
        Assert.Contains("0xCAFEBABE", html);
        Assert.Throws<RtpFormatException>(() => new RtpHeaderDiagram([0x80]));
    }

    [Fact]
    public async Task The_player_plays_describes_and_counts()
    {
        await using var server = StartServer();
        await using var player = await VideoPlayer.OpenAsync(server.Url);
        Assert.Equal(50, player.FramesPerSecond);
        var shown = new List<string>();
        var count = await player.ReceiveAsync(5, frame => shown.Add(frame.ToHtml()), Wait);
        Assert.Equal(5, count);
        Assert.All(shown, html => Assert.StartsWith("<img src=\"data:image/jpeg;base64,/9j/", html));
        // The server goes on sending at 50 frames/s and the receiver goes on completing them: a busy machine can run the
        // next frame in before these lines. The statistics count every frame received, the 5 shown among them.
        Assert.InRange(player.Statistics.FramesComplete, 5, 60);
        Assert.Contains("frames complete / lost / late", player.ToHtml());
    }

    [Fact]
    public async Task Charts_have_their_axes_named()
    {
        await using var server = StartServer(new() { Jitter = TimeSpan.FromMilliseconds(10), Seed = 3 });
        await using var player = await VideoPlayer.OpenAsync(server.Url);
        await player.ReceiveAsync(10, _ => { }, Wait);
        var packets = player.Receiver.Packets;
        Assert.True(player.Statistics.JitterMs > 0);
        var jitter = VideoCharts.JitterOverTime(("jitter 10 ms", packets));
        Assert.Equal(("time since the first packet (s)", "jitter estimate J (ms)"), (jitter.XTitle, jitter.YTitle));
        Assert.Single(VideoCharts.InterArrivalHistogram(("run", packets)).Traces);
        var loss = VideoCharts.FramesLostVsConfiguredLoss([(0.1, player.Statistics)], 6);
        Assert.Equal(4, loss.Traces.Count);
        var playout = VideoCharts.Playout([new PlayoutResult(0, TimeSpan.Zero, TimeSpan.Zero, 10, 8, 2, 1, 1), new PlayoutResult(2, TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(35), 10, 10, 0, 0, 0)]);
        Assert.Equal("frame slots frozen (%)", playout.YTitle);
    }
}

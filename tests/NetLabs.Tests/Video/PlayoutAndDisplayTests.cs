using NetLabs.Video;
using static NetLabs.Tests.Video.VideoTesting;

namespace NetLabs.Tests.Video;

public class PlayoutAndDisplayTests
{
    private static VideoFrame Frame(long number, double completedMs) =>
        new(number, 0, [], 320, 240, 1, TimeSpan.FromMilliseconds(completedMs), TimeSpan.FromMilliseconds(completedMs));

    [Fact]
    public void A_deeper_playout_buffer_freezes_less_and_delays_more()
    {
        // 10 frames/s; frame 2 is 150 ms late, frame 4 never came, frame 6 is 40 ms late.
        var frames = new[] { Frame(0, 0), Frame(1, 100), Frame(2, 350), Frame(3, 300), Frame(5, 500), Frame(6, 640), Frame(7, 700) };
        var none = PlayoutBuffer.Simulate(frames, 0, 10);
        var one = PlayoutBuffer.Simulate(frames, 1, 10);
        var two = PlayoutBuffer.Simulate(frames, 2, 10);
        Assert.Equal((8, 5, 3, 2, 1), (none.Slots, none.Played, none.Frozen, none.Late, none.Lost));
        Assert.Equal((6, 2, 1, 1), (one.Played, one.Frozen, one.Late, one.Lost));
        Assert.Equal((7, 1, 0, 1), (two.Played, two.Frozen, two.Late, two.Lost));
        Assert.Equal(TimeSpan.FromMilliseconds(200), two.Delay);
        Assert.Contains("buffer 2 frames (200 ms)", two.ToString());
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
        Assert.Equal(5, player.Statistics.FramesComplete);
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
        var playout = VideoCharts.Playout([PlayoutBuffer.Simulate(player.Receiver.FrameHistory, 0, 50), PlayoutBuffer.Simulate(player.Receiver.FrameHistory, 2, 50)]);
        Assert.Equal("frame slots frozen (%)", playout.YTitle);
    }
}

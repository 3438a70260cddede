using System.Net;
using System.Net.Sockets;
using NetLabs.Tests.Support;
using NetLabs.Video;
using static NetLabs.Tests.Video.VideoTesting;

namespace NetLabs.Tests.Video;

public class RtspServerTests
{
    [Fact]
    public async Task A_client_plays_the_whole_clip_frame_for_frame()
    {
        await using var server = StartServer();
        var (client, receiver) = await PlayAsync(server.Url);
        await using (client)
        await using (receiver)
        {
            var frames = await FramesAsync(receiver, Clip.Frames.Count);
            Assert.Equal(Clip.Frames.Count, frames.Count);
            for (var i = 0; i < frames.Count; i++)
            {
                var original = Clip.Frames[i];
                Assert.Equal(i, frames[i].Number);
                Assert.Equal(JpegHeaders.BuildJpeg(original.Type, original.Width, original.Height, original.QuantizationTables, original.ScanData.Span), frames[i].Jpeg);
            }
            var stats = receiver.Statistics;
            Assert.Equal((0L, 0L, 0L), (stats.PacketsLost, stats.FramesLost, stats.PacketsInvalid));
            Assert.Equal(stats.PacketsExpected, stats.PacketsReceived);
            Assert.True(stats.PacketsReceived > 3 * Clip.Frames.Count, "every frame takes several packets");
            await client.TeardownAsync();
            Assert.Equal([1, 2, 3, 4, 5], client.Transcript.Messages.Where(m => m.FromClient).Select((_, i) => i + 1));
            Assert.Contains("m=video 0 RTP/AVP 26", client.Transcript.ToString());
            Assert.True(await Poll.UntilAsync(() => server.Counters.ActiveSessions == 0, Wait));
        }
    }

    [Fact]
    public async Task Packets_carry_the_header_fields_the_lab_is_about()
    {
        await using var server = StartServer();
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await using var client = await RtspClient.ConnectAsync(server.Url);
        await client.DescribeAsync();
        var setup = await client.SetupAsync(((IPEndPoint)udp.Client.LocalEndPoint!).Port);
        await client.PlayAsync();
        var packets = new List<RtpPacket>();
        while (packets.Count(p => p.Marker) < 3)
            packets.Add(RtpPacket.Parse((await udp.ReceiveAsync().WaitAsync(Wait)).Buffer));
        Assert.All(packets, p => Assert.Equal((2, false, false, 0, 26, packets[0].Ssrc), (p.Version, p.Padding, p.Extension, p.Csrcs.Count, p.PayloadType, p.Ssrc)));
        for (var i = 1; i < packets.Count; i++) Assert.Equal((ushort)(packets[i - 1].SequenceNumber + 1), packets[i].SequenceNumber);
        var frameStarts = packets.Where((p, i) => i == 0 || packets[i - 1].Marker).Select(p => p.Timestamp).ToList();
        Assert.Equal(90_000u / 50, frameStarts[1] - frameStarts[0]); // 50 frames/s on RTP's 90 kHz clock
        Assert.All(packets.Where(p => !p.Marker), p => Assert.Contains(p.Timestamp, frameStarts));
        Assert.Contains($"ssrc={packets[0].Ssrc:X8}", setup["Transport"]);
    }

    [Fact]
    public async Task Pause_stops_the_stream_and_play_resumes_where_it_stopped()
    {
        await using var server = StartServer(new() { Clip = FastClip(20) });
        var (client, receiver) = await PlayAsync(server.Url);
        await using (client)
        await using (receiver)
        {
            var before = await FramesAsync(receiver, 3);
            await client.PauseAsync();
            var sentAtPause = server.Counters.PacketsSent;
            await Task.Delay(300);
            Assert.Equal(sentAtPause, server.Counters.PacketsSent);
            await client.PlayAsync();
            var all = before.Concat(await FramesAsync(receiver, Clip.Frames.Count - before.Count)).ToList();
            Assert.Equal(Enumerable.Range(0, Clip.Frames.Count), all.Select(f => (int)f.Number));
            Assert.Equal(0, receiver.Statistics.PacketsLost); // sequence numbers go on across the pause
        }
    }

    [Theory]
    [InlineData("PLAY {0} RTSP/1.0\r\nCSeq: 2\r\n\r\n", "455")] // PLAY before SETUP
    [InlineData("PAUSE {0} RTSP/1.0\r\nCSeq: 2\r\n\r\n", "455")]
    [InlineData("PLAY {0} RTSP/1.0\r\nCSeq: 2\r\nSession: 0123456789ABCDEF\r\n\r\n", "454")]
    [InlineData("TEARDOWN {0} RTSP/1.0\r\nCSeq: 2\r\nSession: nope\r\n\r\n", "454")]
    [InlineData("SETUP {0} RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n", "461")]
    [InlineData("SETUP {0} RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast\r\n\r\n", "461")]
    [InlineData("DESCRIBE rtsp://127.0.0.1/other RTSP/1.0\r\nCSeq: 2\r\n\r\n", "404")]
    [InlineData("DESCRIBE {0} RTSP/1.0\r\n\r\n", "400")] // no CSeq
    [InlineData("DESCRIBE {0} RTSP/2.0\r\nCSeq: 2\r\n\r\n", "505")]
    [InlineData("RECORD {0} RTSP/1.0\r\nCSeq: 2\r\n\r\n", "405")]
    [InlineData("FLY {0} RTSP/1.0\r\nCSeq: 2\r\n\r\n", "501")]
    public async Task Requests_out_of_order_or_wrong_get_the_right_status(string request, string status)
    {
        await using var server = StartServer();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Wait);
        var reply = await ExchangeAsync(tcp.GetStream(), string.Format(request, server.Url));
        Assert.StartsWith($"RTSP/1.0 {status} ", reply);
        if (request.Contains("CSeq")) Assert.Contains("CSeq: 2", reply);
        // the connection still serves
        Assert.StartsWith("RTSP/1.0 200 OK", await ExchangeAsync(tcp.GetStream(), $"OPTIONS {server.Url} RTSP/1.0\r\nCSeq: 3\r\n\r\n"));
    }

    [Fact]
    public async Task Pause_before_play_and_play_after_teardown_are_refused_by_the_client_with_the_reply()
    {
        await using var server = StartServer();
        await using var client = await RtspClient.ConnectAsync(server.Url);
        using var receiver = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await client.SetupAsync(((IPEndPoint)receiver.Client.LocalEndPoint!).Port);
        var pause = await Assert.ThrowsAsync<RtspException>(() => client.PauseAsync());
        Assert.Equal(455, pause.StatusCode);
        Assert.Contains("455 Method Not Valid in This State", pause.Message);
        var session = client.Session;
        await client.TeardownAsync();
        var play = await Assert.ThrowsAsync<RtspException>(() => client.RequestAsync("PLAY", server.Url, [("Session", session!)]));
        Assert.Equal(454, play.StatusCode);
        Assert.Equal(2, play.Transcript.Messages.Count(m => m.Text.StartsWith("RTSP/1.0 4")));
    }

    [Fact]
    public async Task A_request_too_long_is_answered_400_and_the_server_serves_the_next_client()
    {
        await using var server = StartServer(new() { MaxRequestHeaderBytes = 1024 });
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Wait);
            var reply = await ExchangeAsync(tcp.GetStream(), "OPTIONS * RTSP/1.0\r\nX: " + new string('a', 5000) + "\r\n\r\n");
            Assert.StartsWith("RTSP/1.0 400 ", reply);
            Assert.Contains("too long", reply);
        }
        await using var client = await RtspClient.ConnectAsync(server.Url);
        Assert.Equal(200, (await client.OptionsAsync()).StatusCode);
    }

    [Fact]
    public async Task Whole_frames_that_overtake_each_other_are_put_back_in_order_not_counted_late()
    {
        await using var receiver = RtpReceiver.Start(new RtpReceiverOptions { FramesPerSecond = 25, ReorderWindow = TimeSpan.FromSeconds(2) });
        using var sender = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, receiver.Port);
        ushort sequence = 100;
        List<byte[]> Frame(int n)
        {
            var payloads = JpegPayload.Packetize(Clip.Frames[n]);
            return payloads.Select((p, i) => new RtpPacket
            {
                SequenceNumber = sequence++, Timestamp = (uint)(n * 3600), Ssrc = 7, Marker = i == payloads.Count - 1, Payload = p,
            }.ToBytes()).ToList();
        }
        var frames = Enumerable.Range(0, 4).Select(Frame).ToList();
        // The network delivers frame 0, then 2 before 1 (whole), then 3.
        foreach (var packet in frames[0].Concat(frames[2]).Concat(frames[1]).Concat(frames[3]))
            await sender.SendAsync(packet, target).AsTask().WaitAsync(Wait);
        var received = await FramesAsync(receiver, 4);
        Assert.Equal([0L, 1, 2, 3], received.Select(f => f.Number));
        Assert.Equal((0L, 0L, 0L), (receiver.Statistics.PacketsLate, receiver.Statistics.PacketsLost, receiver.Statistics.FramesLost));
    }

    [Fact]
    public async Task Garbage_and_truncated_RTP_datagrams_are_counted_and_skipped_by_the_receiver()
    {
        await using var server = StartServer();
        await using var client = await RtspClient.ConnectAsync(server.Url);
        await using var receiver = RtpReceiver.Start();
        using var sender = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, receiver.Port);
        var random = new Random(5);
        var good = new RtpPacket { SequenceNumber = 9, Payload = JpegPayload.Packetize(Clip.Frames[0])[0] }.ToBytes();
        byte[][] junk =
        [
            [], [0x80], good[..11], good[..15], // truncated: inside the RTP header, inside the JPEG header
            [.. good[..12], 0, 0, 0, 0, 9, 255, 40, 30], // a JPEG type no receiver knows
            [.. new RtpPacket { PayloadType = 96, Payload = new byte[] { 1, 2, 3 } }.ToBytes()], // not JPEG
        ];
        foreach (var datagram in junk.Concat(Enumerable.Range(0, 20).Select(_ => { var b = new byte[random.Next(1, 1500)]; random.NextBytes(b); return b; })))
            await sender.SendAsync(datagram, target).AsTask().WaitAsync(Wait);
        Assert.True(await Poll.UntilAsync(() => receiver.Statistics.PacketsInvalid >= junk.Length, Wait), receiver.Statistics.ToString());
        await client.DescribeAsync();
        await client.SetupAsync(receiver.Port);
        await client.PlayAsync();
        Assert.Equal(5, (await FramesAsync(receiver, 5)).Count);
        Assert.Equal(0, receiver.Statistics.PacketsLost);
    }

    [Fact]
    public async Task Binary_junk_on_the_RTSP_port_gets_400_and_the_server_goes_on()
    {
        await using var server = StartServer();
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port).WaitAsync(Wait);
            var junk = new byte[3000];
            new Random(9).NextBytes(junk);
            for (var i = 0; i < junk.Length; i++) if (junk[i] == (byte)'\n') junk[i] = 0;
            junk[^1] = (byte)'\n';
            await tcp.GetStream().WriteAsync(junk).AsTask().WaitAsync(Wait);
            var reply = await new RtspMessageReader(tcp.GetStream()).ReadAsync().WaitAsync(Wait);
            Assert.Equal(400, reply!.StatusCode);
        }
        await using var client = await RtspClient.ConnectAsync(server.Url);
        Assert.Equal(200, (await client.OptionsAsync()).StatusCode);
    }

    [Fact]
    public async Task A_client_that_vanishes_without_teardown_has_its_stream_stopped()
    {
        await using var server = StartServer(new() { Loop = true });
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var client = await RtspClient.ConnectAsync(server.Url);
        await client.SetupAsync(((IPEndPoint)udp.Client.LocalEndPoint!).Port);
        await client.PlayAsync();
        await udp.ReceiveAsync().WaitAsync(Wait);
        Assert.Equal(1, server.Counters.ActiveSessions);
        await client.DisposeAsync(); // gone: no TEARDOWN
        Assert.True(await Poll.UntilAsync(() => server.Counters.ActiveSessions == 0, Wait));
        var sent = server.Counters.PacketsSent;
        await Task.Delay(200);
        Assert.Equal(sent, server.Counters.PacketsSent);
        Assert.Contains(server.Log, e => e.Request.Contains("connection closed"));
    }

    [Fact]
    public async Task A_silent_client_is_timed_out_and_its_session_ends()
    {
        await using var server = StartServer(new() { Loop = true, SessionTimeout = TimeSpan.FromMilliseconds(300) });
        await using var client = await RtspClient.ConnectAsync(server.Url);
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await client.SetupAsync(((IPEndPoint)udp.Client.LocalEndPoint!).Port);
        await client.PlayAsync();
        Assert.True(await Poll.UntilAsync(() => server.Counters.ActiveSessions == 0, Wait));
    }

    [Fact]
    public async Task Twenty_clients_play_at_once_each_in_its_own_session()
    {
        await using var server = StartServer(new() { Clip = FastClip(25) });
        var plays = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => PlayAsync(server.Url)));
        try
        {
            var frames = await Task.WhenAll(plays.Select(p => FramesAsync(p.Receiver, 10)));
            Assert.All(frames, f => Assert.Equal(10, f.Count));
            Assert.Equal(20, plays.Select(p => p.Client.Session).Distinct().Count());
            Assert.Equal(20, server.Counters.ActiveSessions);
        }
        finally
        {
            foreach (var (client, receiver) in plays)
            {
                await client.DisposeAsync();
                await receiver.DisposeAsync();
            }
        }
        Assert.True(await Poll.UntilAsync(() => server.Counters.ActiveSessions == 0, Wait));
    }

    [Fact]
    public async Task Sessions_per_client_are_limited()
    {
        await using var server = StartServer(new() { MaxSessionsPerClient = 2 });
        await using var client = await RtspClient.ConnectAsync(server.Url);
        await client.RequestAsync("SETUP", server.Url, [("Transport", "RTP/AVP;unicast;client_port=40000-40001")]);
        await client.RequestAsync("SETUP", server.Url, [("Transport", "RTP/AVP;unicast;client_port=40002-40003")]);
        var third = await Assert.ThrowsAsync<RtspException>(() => client.RequestAsync("SETUP", server.Url, [("Transport", "RTP/AVP;unicast;client_port=40004-40005")]));
        Assert.Equal(503, third.StatusCode);
    }

    [Fact]
    public async Task Seeded_loss_is_seen_by_the_receiver_and_repeats_with_the_seed()
    {
        async Task<(long Dropped, RtpReceiverStatistics Stats)> RunAsync()
        {
            await using var server = StartServer(new() { LossProbability = 0.2, Seed = 11 });
            var (client, receiver) = await PlayAsync(server.Url);
            await using (client)
            await using (receiver)
            {
                // The whole clip, whatever the machine's load: until the server says it ended and every packet it sent arrived.
                Assert.True(await Poll.UntilAsync(() => server.Log.Any(e => e.Request == "(end of clip)"), Wait));
                Assert.True(await Poll.UntilAsync(() => receiver.Statistics.PacketsReceived == server.Counters.PacketsSent, Wait));
                await Poll.UntilAsync(() => false, TimeSpan.FromMilliseconds(100)); // the receiver gives up on a last incomplete frame
                return (server.Counters.PacketsDropped, receiver.Statistics);
            }
        }
        var first = await RunAsync();
        var second = await RunAsync();
        Assert.True(first.Dropped > 0);
        Assert.Equal(first.Dropped, second.Dropped);
        Assert.InRange(first.Stats.PacketsLost, 1, first.Dropped); // drops after the last packet received cannot be seen
        Assert.True(first.Stats.FramesLost > 0);
        Assert.Equal(first.Stats.FramesComplete, second.Stats.FramesComplete);
    }

    [Fact]
    public async Task Start_says_what_to_fix()
    {
        Assert.Contains("needs a clip", Assert.Throws<NetLabs.Hosting.ServerStartException>(() => RtspServer.Start(new())).Message);
        await using var server = StartServer();
        var taken = Assert.Throws<NetLabs.Hosting.ServerStartException>(() => StartServer(new() { Port = server.Port }));
        Assert.Contains("already in use", taken.Message);
        Assert.Contains("between 0 and 1", Assert.Throws<NetLabs.Hosting.ServerStartException>(() => StartServer(new() { LossProbability = 2 })).Message);
    }

    [Fact]
    public async Task Stop_is_idempotent_and_ends_playing_sessions()
    {
        var server = StartServer(new() { Loop = true });
        var (client, receiver) = await PlayAsync(server.Url);
        await receiver.NextFrameAsync(Wait);
        var stops = new[] { server.StopAsync(), server.StopAsync() };
        await Task.WhenAll(stops).WaitAsync(Wait);
        Assert.Equal(NetLabs.Hosting.ServerState.Stopped, server.State);
        Assert.Equal(0, server.Counters.ActiveSessions);
        await client.DisposeAsync();
        await receiver.DisposeAsync();
    }
}

using NetLabs.Video;

namespace NetLabs.Tests.Video;

public class JpegPayloadTests
{
    [Fact]
    public void The_lab_clip_is_what_RFC_2435_carries()
    {
        var clip = VideoTesting.Clip;
        Assert.Equal(30, clip.Frames.Count);
        Assert.All(clip.Frames, f => Assert.Equal((1, 320, 240, 128), (f.Type, f.Width, f.Height, f.QuantizationTables.Length)));
        Assert.Equal("testsrc-320x240-10fps", clip.Name);
    }

    [Fact]
    public void A_frame_is_cut_into_payloads_with_offsets_and_tables_in_the_first()
    {
        var frame = VideoTesting.Clip.Frames[3];
        var payloads = JpegPayload.Packetize(frame, 1000);
        Assert.True(payloads.Count > 2, "a 320x240 frame needs several 1000-byte packets");
        Assert.All(payloads, p => Assert.True(p.Length <= 1000));
        var fragments = payloads.Select(p => JpegFragment.Parse(p)).ToList();
        Assert.Equal(frame.QuantizationTables, fragments[0].QuantizationTables);
        Assert.All(fragments.Skip(1), f => Assert.Null(f.QuantizationTables));
        var offset = 0;
        foreach (var f in fragments)
        {
            Assert.Equal((offset, 1, 255, 320, 240), (f.FragmentOffset, (int)f.Type, (int)f.Q, f.Width, f.Height));
            offset += f.Data.Length;
        }
        Assert.Equal(frame.ScanData.Length, offset);
    }

    [Fact]
    public void Fragments_in_any_order_make_the_frame_again_with_the_original_headers()
    {
        var frame = VideoTesting.Clip.Frames[5];
        var payloads = JpegPayload.Packetize(frame);
        var assembler = new JpegFrameAssembler(0, TimeSpan.Zero, 1 << 20);
        var order = Enumerable.Range(0, payloads.Count).OrderBy(_ => Guid.NewGuid()).ToList();
        foreach (var i in order.Take(order.Count - 1)) assembler.Add(JpegFragment.Parse(payloads[i]), marker: i == payloads.Count - 1, sequence: i);
        Assert.False(assembler.IsComplete);
        assembler.Add(JpegFragment.Parse(payloads[order[^1]]), marker: order[^1] == payloads.Count - 1, sequence: order[^1]);
        Assert.True(assembler.IsComplete);
        var (jpeg, width, height) = assembler.Build();
        Assert.Equal((320, 240), (width, height));
        var rebuilt = JpegImage.Parse(jpeg);
        Assert.Equal(frame.ScanData.ToArray(), rebuilt.ScanData.ToArray());
        Assert.Equal(frame.QuantizationTables, rebuilt.QuantizationTables);
        // ffmpeg wrote the standard Huffman tables (-huffman default): ours, rebuilt from JPEG Annex K, are the same bytes.
        Assert.Equal(4, Segments(jpeg, 0xC4).Count);
        Assert.Equal(Segments(frame.File.ToArray(), 0xC4), Segments(jpeg, 0xC4));
    }

    [Fact]
    public void Standard_tables_for_Q_below_128_follow_RFC_2435_appendix_A()
    {
        var q50 = JpegHeaders.StandardTables(50); // factor 100: the tables themselves
        Assert.Equal(16, q50[0]);
        Assert.Equal(17, q50[64]);
        var q10 = JpegHeaders.StandardTables(10); // factor 500
        Assert.Equal(80, q10[0]);
        Assert.All(JpegHeaders.StandardTables(1), b => Assert.True(b >= 1));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 255, 40 }, "8-byte header")]
    [InlineData(new byte[] { 0, 0, 0, 0, 7, 255, 40, 30 }, "type 7")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 255, 40, 30, 0, 0, 0, 128, 1, 2 }, "ends inside its quantization tables")]
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 255, 40, 30, 0, 0, 0, 7 }, "7 bytes")]
    public void Bad_JPEG_payloads_are_refused_with_the_reason(byte[] payload, string reason) =>
        Assert.Contains(reason, Assert.Throws<RtpFormatException>(() => JpegFragment.Parse(payload)).Message);

    [Fact]
    public void The_textbook_framing_of_length_prefixed_frames_is_read_too()
    {
        var frames = VideoTesting.Clip.Frames.Take(3).Select(f => f.File.ToArray()).ToList();
        var textbook = frames.SelectMany(f => System.Text.Encoding.ASCII.GetBytes(f.Length.ToString("D5")).Concat(f)).ToArray();
        var split = MjpegClip.Split(textbook);
        Assert.Equal(frames, split.Select(f => f.ToArray()));
        Assert.Contains("cut short", Assert.Throws<VideoClipException>(() => MjpegClip.Split(textbook[..^10])).Message);
        Assert.Contains("no JPEG starts", Assert.Throws<VideoClipException>(() => MjpegClip.Split(new byte[] { 1, 2, 3, 4, 5, 6 })).Message);
    }

    [Fact]
    public void An_end_marker_inside_a_header_segment_does_not_cut_the_frame()
    {
        var frame = VideoTesting.Clip.Frames[0].File.ToArray();
        byte[] app1 = [0xFF, 0xE1, 0, 6, 0xFF, 0xD8, 0xFF, 0xD9]; // a segment holding a tiny "thumbnail" with its own EOI
        var withThumbnail = frame[..2].Concat(app1).Concat(frame[2..]).ToArray();
        var split = MjpegClip.Split(withThumbnail.Concat(frame).ToArray());
        Assert.Equal([withThumbnail.Length, frame.Length], split.Select(f => f.Length));
        Assert.Equal(VideoTesting.Clip.Frames[0].ScanData.ToArray(), JpegImage.Parse(split[0]).ScanData.ToArray());
    }

    // The Huffman tables of a JPEG, one byte array per table (class/id, 16 counts, symbols), ordered by class/id:
    // encoders group them in DHT segments differently.
    private static List<byte[]> Segments(byte[] jpeg, byte marker)
    {
        var tables = new List<byte[]>();
        for (var p = 2; p + 4 <= jpeg.Length && jpeg[p + 1] != 0xDA;)
        {
            var length = jpeg[p + 2] << 8 | jpeg[p + 3];
            if (jpeg[p + 1] == marker)
                for (var t = p + 4; t < p + 2 + length;)
                {
                    var symbols = jpeg.Skip(t + 1).Take(16).Sum(b => b);
                    tables.Add(jpeg[t..(t + 17 + symbols)]);
                    t += 17 + symbols;
                }
            p += 2 + length;
        }
        return [.. tables.OrderBy(t => t[0])];
    }
}

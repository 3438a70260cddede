using NetLabs.Video;

namespace NetLabs.Tests.Video;

public class RtpPacketTests
{
    [Fact]
    public void Header_fields_are_packed_bit_by_bit_as_RFC_3550_draws_them()
    {
        var packet = new RtpPacket { Marker = true, SequenceNumber = 0x1234, Timestamp = 0xDEADBEEF, Ssrc = 0x01020304, Payload = new byte[] { 9, 8 } };
        var bytes = packet.ToBytes();
        Assert.Equal(new byte[] { 0x80, 0x80 | 26, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 9, 8 }, bytes);
        var noMarker = (packet with { Marker = false, Padding = true, Extension = true, Csrcs = [7] }).ToBytes();
        Assert.Equal(0b1011_0001, noMarker[0]); // V=2, P=1, X=1, CC=1
        Assert.Equal(26, noMarker[1]);
        Assert.Equal(new byte[] { 0, 0, 0, 7 }, noMarker[12..16]);
    }

    [Fact]
    public void A_packet_reads_back_as_it_was_written()
    {
        var packet = new RtpPacket { Marker = true, SequenceNumber = 65535, Timestamp = 90_000, Ssrc = 42, Csrcs = [1, 2], Payload = new byte[] { 1, 2, 3 } };
        var parsed = RtpPacket.Parse(packet.ToBytes());
        Assert.Equal((packet.Marker, packet.SequenceNumber, packet.Timestamp, packet.Ssrc, packet.PayloadType), (parsed.Marker, parsed.SequenceNumber, parsed.Timestamp, parsed.Ssrc, parsed.PayloadType));
        Assert.Equal(packet.Csrcs, parsed.Csrcs);
        Assert.Equal(packet.Payload.ToArray(), parsed.Payload.ToArray());
    }

    [Fact]
    public void Padding_and_extension_are_skipped_to_find_the_payload()
    {
        byte[] datagram = [0xB0, 26, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, /* extension */ 0xBE, 0xDE, 0, 1, 1, 2, 3, 4, /* payload */ 0x55, /* padding */ 0, 0, 3];
        var parsed = RtpPacket.Parse(datagram);
        Assert.Equal(new byte[] { 0x55 }, parsed.Payload.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { }, "shorter than")]
    [InlineData(new byte[] { 0x80, 26, 0, 1, 0, 0, 0 }, "shorter than")]
    [InlineData(new byte[] { 0x40, 26, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, "version 1")]
    [InlineData(new byte[] { 0x8F, 26, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2 }, "15 CSRCs")]
    [InlineData(new byte[] { 0x90, 26, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 9 }, "extension announces 9 words")]
    [InlineData(new byte[] { 0xA0, 26, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200 }, "padding count 200")]
    public void Garbage_and_truncated_packets_are_refused_with_the_reason(byte[] datagram, string reason)
    {
        Assert.False(RtpPacket.TryParse(datagram, out _, out var error));
        Assert.Contains(reason, error);
        Assert.Contains(reason, Assert.Throws<RtpFormatException>(() => RtpPacket.Parse(datagram)).Message);
    }

    [Fact]
    public void Every_random_datagram_is_either_parsed_or_refused_never_thrown_on()
    {
        var random = new Random(7);
        for (var i = 0; i < 5000; i++)
        {
            var datagram = new byte[random.Next(0, 64)];
            random.NextBytes(datagram);
            if (RtpPacket.TryParse(datagram, out var packet, out _))
            {
                Assert.True(packet.HeaderLength <= datagram.Length);
                try { JpegFragment.Parse(packet.Payload); } catch (RtpFormatException) { }
            }
        }
    }
}

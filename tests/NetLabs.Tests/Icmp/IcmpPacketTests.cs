using System.Buffers.Binary;
using System.Net;
using NetLabs.Icmp;

namespace NetLabs.Tests.Icmp;

/// <summary>The packet code against known vectors: RFC 1071's worked example, a textbook IPv4 header, hand-made echo messages.</summary>
public sealed class IcmpPacketTests
{
    [Fact]
    public void Checksum_matches_the_worked_example_of_RFC_1071()
    {
        byte[] data = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];
        Assert.Equal(0xDDF2, InternetChecksum.Sum(data));
        Assert.Equal(0x220D, InternetChecksum.Compute(data));
        var working = InternetChecksum.Explain(data);
        Assert.Equal(4, working.Steps.Count);
        Assert.Equal(0x220D, working.Checksum);
        // 0x0001 + 0xF203 + 0xF4F5 = 0x1E6F9: the carry is folded back.
        Assert.Equal(0x1E6F9u, working.Steps[2].SumWithCarry);
        Assert.Equal(0xE6FA, working.Steps[2].Folded);
    }

    [Fact]
    public void An_odd_last_byte_is_padded_on_the_right_not_the_left()
    {
        Assert.Equal(InternetChecksum.Compute([0x12, 0x34, 0x56, 0x00]), InternetChecksum.Compute([0x12, 0x34, 0x56]));
        Assert.NotEqual(InternetChecksum.Compute([0x12, 0x34, 0x00, 0x56]), InternetChecksum.Compute([0x12, 0x34, 0x56]));
    }

    [Fact]
    public void Checksum_is_over_bytes_not_over_their_text()
    {
        var message = IcmpMessage.EchoRequest(0x1234, 1, "abcd"u8);
        // What a broken solution does: sum the characters of the hex text instead of the bytes.
        var text = System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(message.Bytes.Span));
        Assert.NotEqual(message.Checksum, InternetChecksum.Compute(text));
        Assert.True(InternetChecksum.Verify(message.Bytes.Span));
    }

    [Fact]
    public void Echo_request_has_its_fields_in_network_order_and_a_valid_checksum()
    {
        var message = IcmpMessage.EchoRequest(0xBEEF, 0x0102, [0xAA, 0xBB]);
        var bytes = message.Bytes.ToArray();
        Assert.Equal([0x08, 0x00], bytes[..2]);
        Assert.Equal([0xBE, 0xEF, 0x01, 0x02, 0xAA, 0xBB], bytes[4..]);
        // By hand: 0x0800 + 0xBEEF + 0x0102 + 0xAABB = 0x172AC → carry folded: 0x72AD → complement: 0x8D52.
        Assert.Equal(0x8D52, message.Checksum);
        Assert.True(IcmpMessage.TryParse(bytes, out var parsed, out _));
        Assert.Equal((0xBEEF, 0x0102), (parsed.Identifier, parsed.Sequence));
    }

    [Fact]
    public void Ipv4_header_of_a_textbook_example_reads_and_verifies()
    {
        byte[] header = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xB8, 0x61, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7];
        Assert.True(Ipv4Header.TryParse(header, out var ip, out _));
        Assert.Equal((4, 20, 0x73, 64, 17), (ip.Version, ip.HeaderLength, ip.TotalLength, ip.Ttl, ip.Protocol));
        Assert.Equal(IPAddress.Parse("192.168.0.1"), ip.Source);
        Assert.Equal(IPAddress.Parse("192.168.0.199"), ip.Destination);
        Assert.True(ip.ChecksumValid);
        Assert.Equal(2, ip.Flags);
    }

    [Fact]
    public void The_ICMP_message_starts_where_IHL_says_not_at_byte_20()
    {
        var reply = IcmpMessage.Build(0, 0, 7, 9, [1, 2, 3, 4]);
        var packet = Datagram(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), reply.Bytes.Span, options: 8);
        Assert.True(ReceivedIcmp.TryParse(packet, includesIpHeader: true, IPAddress.None, out var received, out _));
        Assert.Equal(28, received.IpHeader!.HeaderLength);
        Assert.Equal((7, 9), (received.Message.Identifier, received.Message.Sequence));
        Assert.Equal(IPAddress.Parse("10.0.0.1"), received.From);
        Assert.True(received.AnswersEcho(IPAddress.Parse("10.0.0.1"), 7, 9));
        // A parser that assumes 20 bytes reads the options as the ICMP header: the checksum fails.
        Assert.False(IcmpMessage.TryParse(packet.AsSpan(20), out _, out _));
    }

    [Fact]
    public void A_time_exceeded_is_matched_to_the_probe_it_quotes()
    {
        var destination = IPAddress.Parse("10.9.0.2");
        var probe = IcmpMessage.EchoRequest(0x4242, 5, new byte[56]);
        var quotedProbe = Datagram(IPAddress.Parse("10.9.1.2"), destination, probe.Bytes.Span, ttl: 1);
        // Routers quote the header and only the first 8 bytes (RFC 792); Linux quotes more. Both must work.
        foreach (var quotedLength in new[] { 28, quotedProbe.Length })
        {
            var error = IcmpMessage.Build(11, 0, 0, 0, quotedProbe.AsSpan(0, quotedLength));
            var packet = Datagram(IPAddress.Parse("10.9.1.1"), IPAddress.Parse("10.9.1.2"), error.Bytes.Span);
            Assert.True(ReceivedIcmp.TryParse(packet, true, IPAddress.None, out var received, out _));
            Assert.Equal("time exceeded: time to live exceeded in transit", received.Message.Description);
            Assert.True(received.AnswersEcho(destination, 0x4242, 5));
            Assert.False(received.AnswersEcho(destination, 0x4242, 6));
            Assert.False(received.AnswersEcho(destination, 0x4243, 5));
            Assert.False(received.AnswersEcho(IPAddress.Parse("10.9.0.3"), 0x4242, 5));
            var answer = ProbeAnswer.Answered(new ProbeRequest(destination, 1, 5, TimeSpan.FromSeconds(1)), received, TimeSpan.FromMilliseconds(2));
            Assert.Equal(ProbeStatus.TimeExceeded, answer.Status);
            Assert.False(answer.FromDestination);
        }
    }

    [Fact]
    public void A_port_unreachable_is_matched_to_the_UDP_probe_by_both_ports()
    {
        var destination = IPAddress.Parse("10.9.0.2");
        var udp = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 33437);
        var quoted = Datagram(IPAddress.Parse("10.9.1.2"), destination, udp, protocol: 17);
        var error = IcmpMessage.Build(3, 3, 0, 0, quoted);
        var packet = Datagram(destination, IPAddress.Parse("10.9.1.2"), error.Bytes.Span);
        Assert.True(ReceivedIcmp.TryParse(packet, true, IPAddress.None, out var received, out _));
        Assert.True(received.AnswersUdp(destination, 40000, 33437));
        Assert.False(received.AnswersUdp(destination, 40001, 33437));
        Assert.False(received.AnswersUdp(destination, 40000, 33438));
        Assert.False(received.AnswersEcho(destination, 40000, 33437));
        Assert.Equal(ProbeStatus.PortUnreachable, ProbeAnswer.Answered(new ProbeRequest(destination, 4, 3, TimeSpan.FromSeconds(1)), received, TimeSpan.Zero).Status);
    }

    [Fact]
    public void Every_error_type_and_code_has_a_name()
    {
        var all = IcmpNames.AllErrors().ToList();
        Assert.Equal(16 + 1 + 4 + 2 + 3, all.Count);
        Assert.All(all, e => Assert.DoesNotContain("code ", e.Meaning));
        Assert.Equal("destination unreachable: communication administratively prohibited", IcmpNames.Describe(3, 13));
        Assert.Equal("destination unreachable: code 99", IcmpNames.Describe(3, 99));
        Assert.Equal("!H", IcmpNames.TracerouteMark(1));
        Assert.Equal("", IcmpNames.TracerouteMark(3));
    }

    [Fact]
    public void Echo_payload_carries_its_send_time_and_the_ping_pattern()
    {
        var at = new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero).AddTicks(1230);
        var data = EchoPayload.Create(56, at);
        Assert.Equal(at, EchoPayload.SentAt(data));
        Assert.Equal(0x18, data[8]);
        Assert.Null(EchoPayload.SentAt([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));
    }

    internal static byte[] Datagram(IPAddress source, IPAddress destination, ReadOnlySpan<byte> payload, int options = 0, int ttl = 64, int protocol = 1) =>
        Ipv4Header.Wrap(source, destination, payload, options, ttl, protocol);
}

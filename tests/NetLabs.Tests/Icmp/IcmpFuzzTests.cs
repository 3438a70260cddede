using System.Net;
using NetLabs.Icmp;

namespace NetLabs.Tests.Icmp;

/// <summary>Damaged and foreign ICMP never crashes the parser and is never taken for a reply (seeded, so every run is the same).</summary>
public sealed class IcmpFuzzTests
{
    private static readonly IPAddress Destination = IPAddress.Parse("10.1.0.2");
    private const ushort Id = 0x5151, Seq = 3;

    private static byte[] GoodReply() => IcmpPacketTests.Datagram(Destination, IPAddress.Parse("10.1.0.1"),
        IcmpMessage.Build(0, 0, Id, Seq, EchoPayload.Create(56, DateTimeOffset.UnixEpoch)).Bytes.Span);

    private static bool CountsAsReply(ReadOnlySpan<byte> packet) =>
        ReceivedIcmp.TryParse(packet, true, IPAddress.None, out var received, out _) && received.AnswersEcho(Destination, Id, Seq);

    [Fact]
    public void The_good_reply_counts()
    {
        Assert.True(CountsAsReply(GoodReply()));
    }

    [Fact]
    public void Every_truncation_is_rejected()
    {
        var good = GoodReply();
        for (var length = 0; length < good.Length; length++)
            Assert.False(CountsAsReply(good.AsSpan(0, length)), $"truncated to {length} bytes");
    }

    [Fact]
    public void Every_single_bit_flip_in_the_ICMP_message_is_rejected_or_is_not_ours()
    {
        var good = GoodReply();
        for (var bit = 20 * 8; bit < good.Length * 8; bit++)
        {
            var damaged = (byte[])good.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(CountsAsReply(damaged), $"bit {bit} flipped");
        }
    }

    [Fact]
    public void Wrong_IHL_values_are_rejected()
    {
        foreach (var ihl in new[] { 0, 1, 4, 6, 15 })
        {
            var damaged = GoodReply();
            damaged[0] = (byte)(0x40 | ihl);
            Assert.False(CountsAsReply(damaged), $"IHL {ihl}");
        }
    }

    [Fact]
    public void Foreign_identifiers_sequences_and_sources_are_not_ours()
    {
        var other = IcmpPacketTests.Datagram(Destination, IPAddress.Parse("10.1.0.1"), IcmpMessage.Build(0, 0, Id + 1, Seq, new byte[56]).Bytes.Span);
        Assert.False(CountsAsReply(other));
        var otherSeq = IcmpPacketTests.Datagram(Destination, IPAddress.Parse("10.1.0.1"), IcmpMessage.Build(0, 0, Id, Seq + 1, new byte[56]).Bytes.Span);
        Assert.False(CountsAsReply(otherSeq));
        var otherHost = IcmpPacketTests.Datagram(IPAddress.Parse("10.1.0.9"), IPAddress.Parse("10.1.0.1"), IcmpMessage.Build(0, 0, Id, Seq, new byte[56]).Bytes.Span);
        Assert.False(CountsAsReply(otherHost));
        var ourOwnRequest = IcmpPacketTests.Datagram(Destination, IPAddress.Parse("10.1.0.1"), IcmpMessage.EchoRequest(Id, Seq, new byte[56]).Bytes.Span);
        Assert.False(CountsAsReply(ourOwnRequest));
    }

    [Fact]
    public void Random_bytes_never_crash_and_never_count()
    {
        var random = new Random(1071);
        var good = GoodReply();
        var counted = 0;
        for (var i = 0; i < 20000; i++)
        {
            var packet = new byte[random.Next(0, 120)];
            random.NextBytes(packet);
            if (i % 2 == 0 && packet.Length > 0)
            {
                // Half of them start from the good reply and scramble a few bytes, which gets past the first checks.
                packet = (byte[])good.Clone();
                for (var k = random.Next(1, 4); k > 0; k--) packet[random.Next(packet.Length)] = (byte)random.Next(256);
                if (packet.AsSpan().SequenceEqual(good)) continue;
            }
            if (CountsAsReply(packet))
            {
                // The one's-complement sum cannot see every change (two changes that cancel out): a packet may count only
                // if what it says is still exactly our reply (type, code, identifier, sequence, from the destination) and
                // its checksum holds, which is then indistinguishable from the real one. Such packets are rare.
                if (!packet.AsSpan(20).SequenceEqual(good.AsSpan(20))) counted++;
                Assert.True(packet.AsSpan(20, 2).SequenceEqual(good.AsSpan(20, 2)) && packet.AsSpan(24, 4).SequenceEqual(good.AsSpan(24, 4))
                    && InternetChecksum.Verify(packet.AsSpan(20)), $"packet {i} counted though it is not our reply");
            }
            // Errors quoting random data must not crash either.
            _ = ReceivedIcmp.TryParse(packet, false, IPAddress.None, out var r, out _) && r.Message.Quoted is { } q && q.ToString().Length > 0;
        }
        Assert.True(counted < 20, $"{counted} packets with a changed ICMP message counted");
    }
}

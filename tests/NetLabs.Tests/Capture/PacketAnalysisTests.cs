using System.Net;
using System.Net.NetworkInformation;
using NetLabs.Capture;
using PacketDotNet;
using TcpFlags = NetLabs.Capture.TcpFlags;

namespace NetLabs.Tests.Capture;

/// <summary>
/// The analysis of captured frames, on frames built byte for byte (no privilege needed): relative numbers, sequence
/// continuity (a gap, a retransmission), TLS record names across segments, and the .pcapng layout.
/// </summary>
public sealed class PacketAnalysisTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Loopback, 50000), Server = new(IPAddress.Loopback, 6789);
    private static readonly DateTime Start = new(2026, 11, 27, 12, 0, 0, DateTimeKind.Utc);

    private static CapturedFrame Segment(bool fromClient, uint seq, uint ack, TcpFlags flags, byte[]? data = null, int atMicroseconds = 0)
    {
        var (from, to) = fromClient ? (Client, Server) : (Server, Client);
        var tcp = new TcpPacket((ushort)from.Port, (ushort)to.Port)
        {
            SequenceNumber = seq, AcknowledgmentNumber = ack, WindowSize = 512, Flags = (byte)flags, PayloadData = data ?? [],
        };
        var ip = new IPv4Packet(from.Address, to.Address) { PayloadPacket = tcp, TimeToLive = 64 };
        var ethernet = new EthernetPacket(new PhysicalAddress(new byte[6]), new PhysicalAddress(new byte[6]), EthernetType.IPv4) { PayloadPacket = ip };
        ip.UpdateCalculatedValues();
        var bytes = ethernet.Bytes;
        return new CapturedFrame(Start.AddTicks(atMicroseconds * 10L), 1, bytes, bytes.Length);
    }

    private static CaptureResult Analyze(params CapturedFrame[] frames) =>
        new("lo", "", frames.Select(CapturedPacket.Decode).ToList(), 0, null, 262_144);

    private static byte[] Bytes(int count, byte fill = (byte)'x') => Enumerable.Repeat(fill, count).ToArray();

    [Fact]
    public void Relative_numbers_a_gap_and_a_retransmission_come_from_sequence_continuity()
    {
        const uint c = 1_000_000, s = 4_000_000_000; // the server's numbers wrap around 2^32 on the way
        var seen = Analyze(
            Segment(true, c, 0, TcpFlags.Syn),
            Segment(false, s, c + 1, TcpFlags.Syn | TcpFlags.Ack, atMicroseconds: 10),
            Segment(true, c + 1, s + 1, TcpFlags.Ack, atMicroseconds: 20),
            Segment(true, c + 1, s + 1, TcpFlags.Psh | TcpFlags.Ack, Bytes(100), 30),
            Segment(false, s + 1, c + 101, TcpFlags.Ack, Bytes(1000), 40),
            Segment(false, s + 2001, c + 101, TcpFlags.Ack, Bytes(1000), 50),      // bytes 1001..2000 never captured
            Segment(false, s + 1001, c + 101, TcpFlags.Ack, Bytes(1000), 60),      // sent again, late
            Segment(false, s + 3001, c + 101, TcpFlags.Fin | TcpFlags.Ack, null, 70),
            Segment(true, c + 101, s + 3002, TcpFlags.Fin | TcpFlags.Ack, null, 80));

        Assert.Equal([0L, 0L, 1L, 1L, 1L, 2001L, 1001L, 3001L, 101L], seen.Packets.Select(p => p.Sequence!.Value));
        Assert.Equal(1L, seen.Packets[1].Acknowledgment);
        Assert.Equal(3002L, seen.Packets[^1].Acknowledgment); // every byte and the FIN
        Assert.StartsWith("gap: 1000 bytes", seen.Packets[5].Note);
        Assert.Contains("retransmission", seen.Packets[6].Note);
        var connection = Assert.Single(seen.Connections);
        Assert.Equal((Client, Server), (connection.Client, connection.Server));
        Assert.Equal((1, 1, 1000L), (connection.Gaps, connection.Retransmissions, connection.MissingBytes));
        Assert.False(connection.Complete);
        Assert.Equal(TimeSpan.FromMicroseconds(20), connection.Handshake);
        Assert.Equal((100L, 2000L), (connection.BytesToServer, connection.BytesToClient));
        Assert.Equal("FIN both ways", connection.Closed);
        Assert.Equal((1, 2), (seen.Handshakes, seen.Fins));
    }

    [Fact]
    public void TLS_records_are_named_from_their_headers_across_segments_and_never_in_plain_text()
    {
        // Plain SMTP first, then a ClientHello whose header is split over two segments, then two records in one.
        var hello = new byte[] { 22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0 };
        var reply = new byte[] { 22, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3, 20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 0xAB, 0xCD };
        var seen = Analyze(
            Segment(true, 1, 0, TcpFlags.Syn),
            Segment(false, 1, 2, TcpFlags.Syn | TcpFlags.Ack),
            Segment(true, 2, 2, TcpFlags.Psh | TcpFlags.Ack, "STARTTLS\r\n"u8.ToArray()),
            Segment(false, 2, 12, TcpFlags.Psh | TcpFlags.Ack, "220 Ready to start TLS\r\n"u8.ToArray()),
            Segment(true, 12, 26, TcpFlags.Psh | TcpFlags.Ack, hello[..3]),
            Segment(true, 15, 26, TcpFlags.Psh | TcpFlags.Ack, hello[3..]),
            Segment(false, 26, 25, TcpFlags.Psh | TcpFlags.Ack, reply));

        Assert.Empty(seen.Packets[2].Tls);
        Assert.Empty(seen.Packets[3].Tls);
        Assert.Empty(seen.Packets[4].Tls);  // the header is not whole yet
        Assert.Equal(["ClientHello"], seen.Packets[5].Tls); // the rest of the header came with the body, which names the message
        Assert.Equal(["ServerHello", "ChangeCipherSpec", "Application Data"], seen.Packets[6].Tls);
        Assert.Equal("TLS ServerHello, ChangeCipherSpec, Application Data", seen.Packets[6].Data);
    }

    [Fact]
    public void A_pcapng_file_has_a_section_an_interface_and_one_block_per_frame()
    {
        var frames = new[] { Segment(true, 1, 0, TcpFlags.Syn), Segment(false, 1, 2, TcpFlags.Syn | TcpFlags.Ack, atMicroseconds: 1_500_000) };
        using var file = new MemoryStream();
        PcapngWriter.Write(file, frames);
        var bytes = file.ToArray();
        var blocks = new List<(uint Type, int Offset)>();
        for (var offset = 0; offset < bytes.Length;)
        {
            var type = BitConverter.ToUInt32(bytes, offset);
            var length = BitConverter.ToInt32(bytes, offset + 4);
            Assert.Equal(0, length % 4);
            Assert.Equal(length, BitConverter.ToInt32(bytes, offset + length - 4)); // the length is repeated at the end
            blocks.Add((type, offset));
            offset += length;
        }
        Assert.Equal([0x0A0D0D0Au, 1u, 6u, 6u], blocks.Select(b => b.Type));
        Assert.Equal(0x1A2B3C4Du, BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(1, BitConverter.ToUInt16(bytes, blocks[1].Offset + 8)); // link type: Ethernet
        var second = blocks[3].Offset;
        var micros = ((ulong)BitConverter.ToUInt32(bytes, second + 12) << 32) | BitConverter.ToUInt32(bytes, second + 16);
        Assert.Equal((ulong)((Start - DateTime.UnixEpoch).Ticks / 10) + 1_500_000, micros);
        Assert.Equal(frames[1].Bytes, bytes.AsSpan(second + 28, frames[1].Bytes.Length).ToArray());
    }
}

using System.Net;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Icmp;

/// <summary>
/// Lab 5's checks of the student's checksum, echo request and reply parser: known vectors, packets with and without IP
/// options, damaged packets, and (with a raw socket) the kernel's own answer to the student's bytes on 127.0.0.1.
/// <code>await IcmpStudentChecks.RunEchoRequestAsync(Checksum, BuildEchoRequest)</code>
/// </summary>
public static class IcmpStudentChecks
{
    public const string PingerLab = "05-icmp-pinger";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);
    private static readonly IPAddress Here = IPAddress.Loopback;

    public static Task<ReportCard> RunEchoRequestAsync(Func<byte[], ushort> checksum, EchoRequestBuilder build, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(PingerLab, EchoRequestChecks(checksum, build), cancellationToken);

    public static Task<ReportCard> RunParseReplyAsync(IcmpPacketParser parse, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(PingerLab, ParseReplyChecks(parse), cancellationToken);

    public static IReadOnlyList<StudentCheck> EchoRequestChecks(Func<byte[], ushort> checksum, EchoRequestBuilder build) =>
    [
        new("checksum: RFC 1071's example and 200 more",
            "Add the bytes up as 16-bit big-endian words (data[i] << 8 | data[i + 1]), an odd last byte as (data[^1] << 8); fold every carry above 16 bits back in (sum = (sum & 0xFFFF) + (sum >> 16)); return the complement ~sum as a ushort.",
            _ => Task.Run(() =>
            {
                byte[] example = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7];
                Expect(checksum(example) == 0x220D, $"RFC 1071's bytes 00 01 F2 03 F4 F5 F6 F7 gave 0x{checksum(example):X4}, expected 0x220D");
                var random = new Random(1071);
                for (var i = 0; i < 200; i++)
                {
                    var data = new byte[random.Next(1, 80)];
                    random.NextBytes(data);
                    var expected = InternetChecksum.Compute(data);
                    Expect(checksum(data) == expected, $"{data.Length} bytes {IcmpMessage.Hex(data, 12)}: got 0x{checksum(data):X4}, expected 0x{expected:X4}" + (data.Length % 2 == 1 ? " (an odd length: pad the last byte on the right)" : ""));
                }
                return "0x220D for the RFC's example, and 200 random buffers (odd lengths too) agree";
            }), CheckTimeout),
        new("echo request: every field in network order",
            "Type 8, code 0, then the checksum, the identifier and the sequence number as big-endian 16-bit numbers, then the data; compute the checksum with the checksum field at 0, over the bytes (never over text).",
            _ => Task.Run(() =>
            {
                var data = EchoPayload.Create(16, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
                var mine = build(0xBEEF, 0x0102, data) ?? throw new CheckFailedException("BuildEchoRequest returned null");
                var expected = EchoCodec.ReferenceBuild(0xBEEF, 0x0102, data);
                Expect(mine.Length == expected.Length, $"{mine.Length} bytes, expected {expected.Length} (8 header bytes + {data.Length} data bytes)");
                string[] fields = ["type", "code", "checksum (high byte)", "checksum (low byte)", "identifier (high byte)", "identifier (low byte)", "sequence (high byte)", "sequence (low byte)"];
                for (var i = 0; i < expected.Length; i++)
                    Expect(mine[i] == expected[i], $"byte {i} ({(i < 8 ? fields[i] : "data")}) is 0x{mine[i]:X2}, expected 0x{expected[i]:X2}");
                return $"{IcmpMessage.Hex(mine, 8)} … matches, checksum 0x{expected[2]:X2}{expected[3]:X2}";
            }), CheckTimeout),
        new("the checksum in your packet verifies",
            "The receiver sums the whole message, checksum included, and must get 0xFFFF: put ~sum into bytes 2–3, high byte first, computed while bytes 2–3 were 0.",
            _ => Task.Run(() =>
            {
                var random = new Random(8);
                for (ushort seq = 1; seq <= 20; seq++)
                {
                    var data = new byte[random.Next(0, 64)];
                    random.NextBytes(data);
                    var mine = build((ushort)random.Next(65536), seq, data);
                    Expect(InternetChecksum.Verify(mine), $"sequence {seq}, {data.Length} data bytes: the receiver's sum is 0x{InternetChecksum.Sum(mine):X4}, not 0xFFFF: every host would drop it");
                }
                return "20 requests of 0–63 data bytes all verify";
            }), CheckTimeout),
        new("the kernel answers your request on 127.0.0.1",
            "If the checks above pass this one should too; it needs a raw socket (root, or CAP_NET_RAW for dotnet).",
            async token =>
            {
                using var prober = Probers.OpenWith(new EchoCodec(Builder: build));
                var run = await IcmpPinger.RunAsync(prober, Here, new IcmpPingOptions { Count = 3, Interval = TimeSpan.FromMilliseconds(20), Timeout = TimeSpan.FromSeconds(1) }, token).ConfigureAwait(false);
                Expect(run.Statistics.Received == 3, $"{run.Statistics.Received} of 3 requests answered: the kernel drops a request whose checksum or fields are wrong");
                return $"3 replies from 127.0.0.1, RTT {run.Statistics.Avg:0.###} ms on average";
            }, CheckTimeout),
    ];

    public static IReadOnlyList<StudentCheck> ParseReplyChecks(IcmpPacketParser parse) =>
    [
        new("reads an echo reply behind a 20-byte IP header",
            "The packet starts with the IPv4 header: TTL is byte 8, the source address bytes 12–15. The ICMP message follows the header: type, code, checksum, identifier (2 bytes, big-endian), sequence (2 bytes).",
            _ => Task.Run(() =>
            {
                var packet = Reply(options: 0, ttl: 57);
                var fields = parse(packet) ?? throw new CheckFailedException("ParseReply returned null for a good echo reply");
                ExpectFields(fields, 57);
                return $"{fields}";
            }), CheckTimeout),
        new("uses the header length (IHL), not a fixed 20 bytes",
            "The header is (packet[0] & 0x0F) × 4 bytes long: 20 without options, up to 60. Start reading the ICMP message there.",
            _ => Task.Run(() =>
            {
                foreach (var optionBytes in new[] { 4, 12, 40 })
                {
                    var fields = parse(Reply(optionBytes, ttl: 60)) ?? throw new CheckFailedException($"ParseReply returned null for a good reply behind a {20 + optionBytes}-byte header");
                    ExpectFields(fields, 60, $" behind a {20 + optionBytes}-byte header (IHL {(20 + optionBytes) / 4})");
                }
                return "replies behind 24-, 32- and 60-byte headers read right";
            }), CheckTimeout),
        new("damaged packets are rejected (null), never taken for a reply",
            "Return null when the packet is shorter than its header length + 8, when it is not ICMP (protocol, byte 9, is 1), or when the ICMP checksum does not verify. Never throw.",
            _ => Task.Run(() =>
            {
                var good = Reply(options: 0, ttl: 64);
                foreach (var length in new[] { 0, 1, 10, 19, 20, 27 })
                    Expect(Safe(parse, good[..length]) is null, $"a packet cut to {length} bytes was read as a reply");
                var badChecksum = (byte[])good.Clone();
                badChecksum[^1] ^= 0xFF;
                Expect(Safe(parse, badChecksum) is null, "a reply whose data was damaged (its checksum no longer verifies) was accepted");
                var udp = Ipv4Header.Wrap(Here, Here, good.AsSpan(20), protocol: Ipv4Header.ProtocolUdp);
                Expect(Safe(parse, udp) is null, "a UDP packet (protocol 17) was read as ICMP");
                var wrongIhl = (byte[])good.Clone();
                wrongIhl[0] = 0x4F; // 60 bytes of header claimed, fewer arrived
                Expect(Safe(parse, wrongIhl) is null, "a header claiming 60 bytes in a shorter packet was accepted");
                return "truncated, damaged, non-ICMP and wrong-IHL packets all rejected";
            }), CheckTimeout),
        new("the kernel's replies read right",
            "If the checks above pass this one should too; it needs a raw socket (root, or CAP_NET_RAW for dotnet).",
            async token =>
            {
                using var prober = Probers.OpenWith(new EchoCodec(Parser: parse));
                var run = await IcmpPinger.RunAsync(prober, Here, new IcmpPingOptions { Count = 3, Interval = TimeSpan.FromMilliseconds(20), Timeout = TimeSpan.FromSeconds(1) }, token).ConfigureAwait(false);
                Expect(run.Statistics.Received == 3, $"{run.Statistics.Received} of 3 replies recognised");
                Expect(run.Answers.All(a => a.ReplyTtl == 64), $"TTLs {string.Join(", ", run.Answers.Select(a => a.ReplyTtl))}, expected 64 (127.0.0.1 is no hop away)");
                return "3 of 3 replies from the kernel recognised, TTL 64";
            }, CheckTimeout),
    ];

    private static ParsedIcmp? Safe(IcmpPacketParser parse, byte[] packet)
    {
        try
        {
            return parse(packet);
        }
        catch (Exception e) when (e is not CheckFailedException)
        {
            throw new CheckFailedException($"ParseReply threw {e.GetType().Name} on a {packet.Length}-byte packet: return null instead");
        }
    }

    private static byte[] Reply(int options, int ttl) =>
        Ipv4Header.Wrap(IPAddress.Parse("10.5.0.9"), Here, IcmpMessage.Build(0, 0, 0x4242, 17, EchoPayload.Create(24, DateTimeOffset.UnixEpoch)).Bytes.Span, options, ttl);

    private static void ExpectFields(ParsedIcmp fields, int ttl, string where = "")
    {
        Expect(fields.Type == 0 && fields.Code == 0, $"type {fields.Type} code {fields.Code}{where}, expected 0 and 0 (echo reply)");
        Expect(fields.Identifier == 0x4242, $"identifier 0x{fields.Identifier:X4}{where}, expected 0x4242");
        Expect(fields.Sequence == 17, $"sequence {fields.Sequence}{where}, expected 17");
        Expect(fields.Ttl == ttl, $"TTL {fields.Ttl}{where}, expected {ttl}");
        Expect(IPAddress.Parse("10.5.0.9").Equals(fields.Source), $"source {fields.Source}{where}, expected 10.5.0.9");
    }
}

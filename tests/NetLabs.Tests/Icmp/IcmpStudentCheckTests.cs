using System.Net;
using NetLabs.Checks;
using NetLabs.Icmp;

namespace NetLabs.Tests.Icmp;

/// <summary>
/// The report cards of labs 5 and 6 against the reference solutions (all pass) and against the classic mistakes
/// (each must fail, with the check that names it): a checksum over text, a parser that assumes a 20-byte header, one
/// timeout shared across hops.
/// </summary>
public sealed class IcmpStudentCheckTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    // The reference solutions (notebooks/student/solutions/05-…, 06-…), as students would write them (the grading bridge tests use them too).
    internal static ushort Checksum(byte[] data)
    {
        uint sum = 0;
        for (var i = 0; i + 1 < data.Length; i += 2) sum += (uint)(data[i] << 8 | data[i + 1]);
        if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    internal static byte[] Build(ushort identifier, ushort sequence, byte[] data, Func<byte[], ushort> checksum)
    {
        var packet = new byte[8 + data.Length];
        packet[0] = 8;
        packet[4] = (byte)(identifier >> 8); packet[5] = (byte)identifier;
        packet[6] = (byte)(sequence >> 8); packet[7] = (byte)sequence;
        data.CopyTo(packet, 8);
        var sum = checksum(packet);
        packet[2] = (byte)(sum >> 8); packet[3] = (byte)sum;
        return packet;
    }

    internal static ParsedIcmp? Parse(byte[] packet, bool useIhl)
    {
        if (packet.Length < 20 || packet[0] >> 4 != 4) return null;
        var headerLength = useIhl ? (packet[0] & 0x0F) * 4 : 20;
        if (headerLength < 20 || packet.Length < headerLength + 8 || packet[9] != 1) return null;
        var icmp = packet[headerLength..];
        if (Checksum(icmp) != 0) return null;
        return new ParsedIcmp(new IPAddress(packet[12..16]), packet[8], icmp[0], icmp[1], (ushort)(icmp[4] << 8 | icmp[5]), (ushort)(icmp[6] << 8 | icmp[7]));
    }

    internal static async Task<List<TracerouteHop>> Loop(Prober prober, IPAddress destination, TracerouteOptions options, bool sharedTimeout, CancellationToken token)
    {
        var hops = new List<TracerouteHop>();
        var sequence = 0;
        var deadline = DateTime.UtcNow + options.ProbeTimeout * options.ProbesPerHop; // the textbook's one timeLeft for everything
        for (var ttl = options.FirstTtl; ttl <= options.MaxHops; ttl++)
        {
            var probes = new List<ProbeAnswer>();
            for (var i = 0; i < options.ProbesPerHop; i++)
            {
                var left = sharedTimeout ? deadline - DateTime.UtcNow : options.ProbeTimeout;
                var request = new ProbeRequest(destination, ttl, (ushort)sequence++, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
                probes.Add(await prober.ProbeAsync(request, token));
            }
            var hop = new TracerouteHop(ttl, probes, new Dictionary<IPAddress, string>());
            hops.Add(hop);
            if (hop.Ends) break;
        }
        return hops;
    }

    private static void AssertFails(ReportCard card, string check)
    {
        var result = Assert.Single(card.Results, r => r.Name.StartsWith(check, StringComparison.Ordinal));
        Assert.False(result.Passed, card.ToString());
    }

    private static bool Root => Environment.UserName == "root";

    [Fact]
    public async Task The_reference_echo_request_passes_every_check()
    {
        var card = await IcmpStudentChecks.RunEchoRequestAsync(Checksum, (i, s, d) => Build(i, s, d, Checksum)).WaitAsync(Wait);
        // The last check needs a raw socket: it passes as root and fails with its hint otherwise.
        Assert.Equal(Root ? 4 : 3, card.Passed);
    }

    [Fact]
    public async Task A_checksum_over_text_fails()
    {
        static ushort OverText(byte[] data) => Checksum(System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(data)));
        var card = await IcmpStudentChecks.RunEchoRequestAsync(OverText, (i, s, d) => Build(i, s, d, OverText)).WaitAsync(Wait);
        AssertFails(card, "checksum: RFC 1071");
        AssertFails(card, "the checksum in your packet verifies");
        if (Root) AssertFails(card, "the kernel answers");
    }

    [Fact]
    public async Task A_checksum_without_the_carry_or_the_odd_byte_fails()
    {
        static ushort NoCarry(byte[] data)
        {
            uint sum = 0;
            for (var i = 0; i + 1 < data.Length; i += 2) sum += (uint)(data[i] << 8 | data[i + 1]);
            return (ushort)~(sum & 0xFFFF);
        }
        var card = await IcmpStudentChecks.RunEchoRequestAsync(NoCarry, (i, s, d) => Build(i, s, d, NoCarry)).WaitAsync(Wait);
        AssertFails(card, "checksum: RFC 1071");
    }

    [Fact]
    public async Task The_reference_parser_passes_and_a_fixed_20_byte_header_fails()
    {
        var good = await IcmpStudentChecks.RunParseReplyAsync(p => Parse(p, useIhl: true)).WaitAsync(Wait);
        Assert.Equal(Root ? 4 : 3, good.Passed);
        var noIhl = await IcmpStudentChecks.RunParseReplyAsync(p => Parse(p, useIhl: false)).WaitAsync(Wait);
        AssertFails(noIhl, "uses the header length (IHL)");
        var throwing = await IcmpStudentChecks.RunParseReplyAsync(p => Parse(p, true) ?? throw new IndexOutOfRangeException()).WaitAsync(Wait);
        AssertFails(throwing, "damaged packets are rejected");
    }

    [Fact]
    public async Task The_reference_loop_passes_and_a_shared_timeout_fails()
    {
        var good = await TracerouteStudentChecks.RunAsync((p, d, o, t) => Loop(p, d, o, sharedTimeout: false, t)).WaitAsync(Wait);
        Assert.True(good.AllPassed, good.ToString());
        var shared = await TracerouteStudentChecks.RunAsync((p, d, o, t) => Loop(p, d, o, sharedTimeout: true, t)).WaitAsync(Wait);
        AssertFails(shared, "a silent router is *");
    }

    [Fact]
    public async Task A_loop_that_stops_only_on_an_echo_reply_fails_the_UDP_check()
    {
        async Task<List<TracerouteHop>> EchoOnly(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken token)
        {
            var hops = new List<TracerouteHop>();
            for (var ttl = options.FirstTtl; ttl <= options.MaxHops; ttl++)
            {
                var probes = new List<ProbeAnswer>();
                for (var i = 0; i < options.ProbesPerHop; i++)
                    probes.Add(await prober.ProbeAsync(new ProbeRequest(destination, ttl, (ushort)(ttl * 10 + i), options.ProbeTimeout), token));
                hops.Add(new TracerouteHop(ttl, probes, new Dictionary<IPAddress, string>()));
                if (probes.Any(p => p.Status == ProbeStatus.EchoReply)) break;
            }
            return hops;
        }
        var card = await TracerouteStudentChecks.RunAsync(EchoOnly).WaitAsync(Wait);
        AssertFails(card, "a UDP trace ends");
        Assert.True(card.Passed == 3 && card.Failed == 1, card.ToString());
    }
}

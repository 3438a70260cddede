using System.Net;
using NetLabs.Ping;

namespace NetLabs.Tests.Ping;

public class PingStatisticsTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Loopback, 12000);

    private static PingReply Reply(int sequence, double ms, PingOutcome outcome = PingOutcome.Reply) =>
        new(sequence, outcome, TimeSpan.FromMilliseconds(ms), $"PING {sequence} 0", Server);

    [Fact]
    public void Summary_matches_hand_computed_values()
    {
        var statistics = PingStatistics.From(
        [
            Reply(1, 1), Reply(2, 2), PingReply.TimedOut(3), Reply(4, 3), Reply(5, 4),
            Reply(3, 1500, PingOutcome.Late), Reply(4, 3.5, PingOutcome.Duplicate),
        ]);

        Assert.Equal(5, statistics.Sent);
        Assert.Equal(4, statistics.Received);
        Assert.Equal(1, statistics.Lost);
        Assert.Equal(20, statistics.LossPercent, 9);
        Assert.Equal(1, statistics.Late);
        Assert.Equal(1, statistics.Duplicates);
        Assert.Equal(1, statistics.Min!.Value, 9);
        Assert.Equal(4, statistics.Max!.Value, 9);
        Assert.Equal(2.5, statistics.Avg!.Value, 9);
        // mean of squares 30/4 = 7.5, minus 2.5² = 1.25
        Assert.Equal(Math.Sqrt(1.25), statistics.Mdev!.Value, 9);
        // 4 replies are too few for percentiles: none printed rather than p99 = "the largest of four"
        Assert.Null(statistics.P50);
        Assert.Null(statistics.P99);
        Assert.DoesNotContain("p50", statistics.ToString());
        Assert.Contains("5 packets transmitted, 4 received, 20% packet loss, 1 late, 1 duplicates", statistics.ToString());
        Assert.Contains("rtt min/avg/max/mdev = 1.000/2.500/4.000/1.118 ms", statistics.ToString());
    }

    [Fact]
    public void All_lost_has_no_rtt_figures()
    {
        var statistics = PingStatistics.From([PingReply.TimedOut(1), PingReply.TimedOut(2), PingReply.TimedOut(3)]);

        Assert.Equal(3, statistics.Sent);
        Assert.Equal(0, statistics.Received);
        Assert.Equal(100, statistics.LossPercent);
        Assert.Null(statistics.Min);
        Assert.Null(statistics.Avg);
        Assert.Null(statistics.Mdev);
        Assert.Null(statistics.P99);
        Assert.DoesNotContain("rtt", statistics.ToString());
        Assert.Contains("–", statistics.ToHtml());
    }

    [Fact]
    public void One_reply_is_its_own_min_and_max_and_has_no_percentiles()
    {
        var statistics = PingStatistics.From([Reply(1, 0.25)]);

        Assert.Equal(0, statistics.LossPercent);
        Assert.Equal(0.25, statistics.Min!.Value, 9);
        Assert.Equal(0.25, statistics.Max!.Value, 9);
        Assert.Null(statistics.P50);
        Assert.Equal(0, statistics.Mdev!.Value, 9);
    }

    [Fact]
    public void Percentiles_appear_from_twenty_replies_on()
    {
        var nineteen = PingStatistics.From(Enumerable.Range(1, 19).Select(i => Reply(i, i)));
        Assert.Null(nineteen.P90);
        Assert.Equal("–", nineteen.Row().Last());

        var twenty = PingStatistics.From(Enumerable.Range(1, 20).Select(i => Reply(i, i)));
        // ranks p/100·19: 9.5 → 10.5, 17.1 → 18.1, 18.81 → 19.81
        Assert.Equal(10.5, twenty.P50!.Value, 9);
        Assert.Equal(18.1, twenty.P90!.Value, 9);
        Assert.Equal(19.81, twenty.P99!.Value, 9);
        Assert.Contains("p50/p90/p99 = 10.500/18.100/19.810 ms", twenty.ToString());
    }

    [Fact]
    public void Nothing_sent_is_no_loss_and_no_division_by_zero()
    {
        var statistics = PingStatistics.From([]);
        Assert.Equal(0, statistics.Sent);
        Assert.Equal(0, statistics.LossRate);
        Assert.Equal((0.0, 1.0), statistics.LossInterval());
    }

    [Fact]
    public void Percentile_interpolates_between_ranks_and_rejects_bad_input()
    {
        double[] sorted = [10, 20, 30, 40, 50];
        Assert.Equal(10, PingStatistics.Percentile(sorted, 0));
        Assert.Equal(30, PingStatistics.Percentile(sorted, 50));
        Assert.Equal(46, PingStatistics.Percentile(sorted, 90), 9);
        Assert.Equal(50, PingStatistics.Percentile(sorted, 100));
        Assert.Throws<ArgumentException>(() => PingStatistics.Percentile([], 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => PingStatistics.Percentile(sorted, 101));
    }

    [Fact]
    public void Binomial_intervals_match_hand_computed_values()
    {
        // 0 of 10: Wilson upper = z²/n / (1 + z²/n) = 0.38416 / 1.38416
        var (lower, upper) = Binomial.WilsonInterval(0, 10);
        Assert.Equal(0, lower, 9);
        Assert.Equal(0.38416 / 1.38416, upper, 6);
        // p = 0.25, n = 100: ± 1.96·sqrt(0.1875/100) = ± 0.08487
        var band = Binomial.NormalBand(0.25, 100);
        Assert.Equal(0.25 - 0.084870, band.Lower, 5);
        Assert.Equal(0.25 + 0.084870, band.Upper, 5);
        Assert.Equal((0.0, 0.0), Binomial.NormalBand(0, 100));
    }

    [Theory]
    [InlineData("PING 12 1764149416.123456", true, 12)]
    [InlineData("Ping 5", true, 5)]
    [InlineData("ping 7 x", true, 7)]
    [InlineData("PING x 1", false, 0)]
    [InlineData("PING -3 1", false, 0)]
    [InlineData("PONG 1 1", false, 0)]
    [InlineData("", false, 0)]
    public void Sequence_numbers_are_parsed_only_from_ping_messages(string datagram, bool ok, int sequence)
    {
        Assert.Equal(ok, PingMessage.TryParseSequence(System.Text.Encoding.ASCII.GetBytes(datagram), out var parsed));
        if (ok) Assert.Equal(sequence, parsed);
    }

    [Fact]
    public void The_payload_is_the_labs_and_round_trips_its_time()
    {
        var time = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
        var payload = PingMessage.Format(3, time);
        Assert.Matches(@"^Ping 3 \d+\.\d{6}$", payload);
        Assert.Equal(time, PingMessage.FromUnixSeconds(double.Parse(payload.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("PING 3 ABC\u00ff"u8.ToArray(), PingMessage.ToUpperAscii("Ping 3 abc\u00ff"u8));
    }

    [Fact]
    public void Bad_options_are_rejected_with_the_setting_named()
    {
        var e = Assert.Throws<NetLabs.Hosting.ServerStartException>(() => PingServer.Start(new PingServerOptions { LossProbability = 1.5 }));
        Assert.StartsWith("LossProbability", e.Message); // servers refuse bad options as every lab's servers do

        Assert.Throws<ArgumentOutOfRangeException>(() => new PingClient(new PingClientOptions(Server) { Timeout = TimeSpan.Zero }));
    }
}

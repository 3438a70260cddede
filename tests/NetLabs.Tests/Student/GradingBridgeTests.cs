using System.Net;
using System.Net.Sockets;
using NetLabs.Checks;
using NetLabs.Checks.Grading;
using NetLabs.Icmp;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Proxy;
using NetLabs.Tests.Icmp;
using NetLabs.Tests.Video;
using NetLabs.Video;
using NetLabs.Web;

namespace NetLabs.Tests.Student;

/// <summary>
/// The grading bridge without a kernel: a student's function offered by <see cref="StudentHost"/> on loopback, the
/// lab's battery run by the judge through <see cref="RemoteGap"/>. Across the bridge our own implementations get full
/// marks, a stub gets none, and a careless dialogue gets exactly the verdicts it gets in-process.
/// </summary>
public sealed class GradingBridgeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    private static async Task<ReportCard> JudgeAsync(string lab, GapOffer gap)
    {
        var exchange = Directory.CreateTempSubdirectory("netlabs-exchange-");
        var judge = new TcpListener(IPAddress.Loopback, 0);
        judge.Start();
        try
        {
            var hosting = StudentHost.ServeAsync(gap, (IPEndPoint)judge.LocalEndpoint, CancellationToken.None);
            using var kernel = await judge.AcceptTcpClientAsync().WaitAsync(Bound);
            var judged = await RemoteGap.JudgeAsync(kernel, lab, exchange.FullName, VideoTesting.Clip, [], CancellationToken.None).WaitAsync(Bound);
            Assert.True(judged.Card is not null, judged.Problem);
            Assert.Equal(gap.Check, judged.Check);
            // The kernel is told the judge's card, to show it.
            Assert.Equal(judged.Card.ToString(), await hosting.WaitAsync(Bound));
            return judged.Card;
        }
        finally
        {
            judge.Stop();
            exchange.Delete(recursive: true);
        }
    }

    private static Task<ReportCard> JudgeAsync(string lab, ConnectionHandler? web = null, PingExchange? ping = null, SmtpClientDialogue? mail = null) =>
        JudgeAsync(lab, web is not null ? new GapOffer("handle-connection") { Web = web } : ping is not null ? new GapOffer("send-one-ping") { Ping = ping }
            : new GapOffer("smtp-dialogue") { Mail = mail });

    /// <summary>The rows' names and verdicts, to compare a card across the bridge with the same battery in-process.</summary>
    private static IEnumerable<(string, bool)> Rows(ReportCard card) => card.Results.Select(r => (r.Name, r.Passed));

    private static bool Root => Environment.UserName == "root";

    [Fact]
    public async Task Our_handler_gets_full_marks_and_a_stub_none_across_the_bridge()
    {
        var ours = await JudgeAsync(WebStudentChecks.Lab, web: connection => new StaticFileHandler(connection.Options, connection.RealRoot).HandleConnectionAsync(connection));
        Assert.True(ours.AllPassed && ours.Passed == 7, ours.ToString());
        var stub = await JudgeAsync(WebStudentChecks.Lab, web: _ => throw new NotImplementedException("Fill in handle-connection"));
        Assert.Equal((0, 7), (stub.Passed, stub.Failed));
    }

    [Fact]
    public async Task A_correct_ping_gets_full_marks_across_the_bridge_and_a_new_socket_per_ping_fails_as_in_process()
    {
        var correct = await JudgeAsync(PingStudentChecks.Lab, ping: PingStudentCheckTests.Solutions.Async);
        Assert.True(correct.AllPassed && correct.Passed == 4, correct.ToString());

        // The student's socket lives in the graded kernel: "sent on the socket you were given" must still be judged on it.
        var newSocketPerPing = await JudgeAsync(PingStudentChecks.Lab, ping: PingStudentCheckTests.Solutions.NewSocketPerPing);
        Assert.False(newSocketPerPing.Results[0].Passed, newSocketPerPing.ToString());
        Assert.Contains("socket you were given", newSocketPerPing.Results[0].Detail);
    }

    [Fact]
    public async Task Mail_verdicts_are_the_same_across_the_bridge_as_in_process()
    {
        var ours = await JudgeAsync(MailStudentChecks.Lab, mail: SmtpDialogue.RunAsync);
        Assert.True(ours.AllPassed && ours.Passed == 5, ours.ToString());

        var stub = await JudgeAsync(MailStudentChecks.Lab, mail: (_, _, _, _) => throw new NotImplementedException("Fill in smtp-dialogue"));
        Assert.Equal((0, 5), (stub.Passed, stub.Failed));
        Assert.All(stub.Results, r => Assert.Equal("not written yet (Fill in smtp-dialogue)", r.Detail));

        // One read per reply, no dot-stuffing: the relay passes the server's reply lines with their pauses, so the
        // bridged card fails the same rows as the in-process one.
        var careless = MailStudentCheckTests.OneReadPerReply(stuff: false);
        var inProcess = await MailStudentChecks.RunAsync(careless).WaitAsync(Bound);
        var bridged = await JudgeAsync(MailStudentChecks.Lab, mail: careless);
        Assert.False(bridged.AllPassed, bridged.ToString());
        Assert.Equal(Rows(inProcess), Rows(bridged));
    }

    [Fact]
    public async Task Proxy_a_correct_handler_gets_full_marks_and_one_that_never_looks_in_the_cache_loses_the_cache_row()
    {
        var ours = await JudgeAsync(ProxyStudentChecks.Lab, new GapOffer("handle-client") { Proxy = (c, cache, t) => HandleClient(c, cache, useCache: true, t) });
        Assert.True(ours.AllPassed && ours.Passed == 5, ours.ToString());

        // The second request reaches the origin: counted in the judge's origin log, whatever the kernel's cache holds.
        var uncached = await JudgeAsync(ProxyStudentChecks.Lab, new GapOffer("handle-client") { Proxy = (c, cache, t) => HandleClient(c, cache, useCache: false, t) });
        Assert.Equal((4, 1), (uncached.Passed, uncached.Failed));
        Assert.False(uncached.Results[3].Passed, uncached.ToString());
        Assert.Contains("the origin was asked 2 times", uncached.Results[3].Detail);

        var stub = await JudgeAsync(ProxyStudentChecks.Lab, new GapOffer("handle-client") { Proxy = (_, _, _) => throw new NotImplementedException("Fill in handle-client") });
        Assert.Equal((0, 5), (stub.Passed, stub.Failed));
    }

    [Fact]
    public async Task Icmp_pinger_the_reference_gets_full_marks_a_checksum_over_text_and_a_fixed_header_length_lose_their_rows()
    {
        var echo = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("echo-request")
        {
            Checksum = IcmpStudentCheckTests.Checksum, EchoRequest = (i, s, d) => IcmpStudentCheckTests.Build(i, s, d, IcmpStudentCheckTests.Checksum),
        });
        // The kernel check sends the student's bytes on the judge's raw socket (root here, as in grading).
        Assert.Equal((Root ? 4 : 3, Root ? 0 : 1), (echo.Passed, echo.Failed));

        static ushort OverText(byte[] data) => IcmpStudentCheckTests.Checksum(System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(data)));
        var overText = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("echo-request") { Checksum = OverText, EchoRequest = (i, s, d) => IcmpStudentCheckTests.Build(i, s, d, OverText) });
        var inProcess = await IcmpStudentChecks.RunEchoRequestAsync(OverText, (i, s, d) => IcmpStudentCheckTests.Build(i, s, d, OverText)).WaitAsync(Bound);
        Assert.False(overText.Results[0].Passed, overText.ToString());
        Assert.False(overText.Results[2].Passed, overText.ToString());
        Assert.Equal(Rows(inProcess), Rows(overText));

        var parse = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("parse-echo-reply") { Parser = p => IcmpStudentCheckTests.Parse(p, useIhl: true) });
        Assert.Equal((Root ? 4 : 3, Root ? 0 : 1), (parse.Passed, parse.Failed));
        var noIhl = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("parse-echo-reply") { Parser = p => IcmpStudentCheckTests.Parse(p, useIhl: false) });
        Assert.False(noIhl.Results[1].Passed, noIhl.ToString());
        Assert.Contains("IHL", noIhl.Results[1].Name);
        Assert.Equal(Rows(await IcmpStudentChecks.RunParseReplyAsync(p => IcmpStudentCheckTests.Parse(p, useIhl: false)).WaitAsync(Bound)), Rows(noIhl));

        // A parser that throws on a damaged packet is named as in the student's notebook, its exception's type included.
        var throwing = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("parse-echo-reply") { Parser = p => IcmpStudentCheckTests.Parse(p, true) ?? throw new IndexOutOfRangeException() });
        Assert.False(throwing.Results[2].Passed, throwing.ToString());
        Assert.Contains("ParseReply threw IndexOutOfRangeException", throwing.Results[2].Detail);
    }

    [Fact]
    public async Task A_call_that_never_returns_in_time_fails_its_check_and_the_next_checks_still_run()
    {
        // Stuck on the first check's packet (a 57 TTL) for longer than any limit: that check gives up, its call is
        // dropped, and the later checks' calls go on fresh connections to the same gap.
        var stuck = await JudgeAsync(IcmpStudentChecks.PingerLab, new GapOffer("parse-echo-reply")
        {
            Parser = p =>
            {
                if (p.Length > 8 && p[8] == 57) Thread.Sleep(TimeSpan.FromSeconds(12));
                return IcmpStudentCheckTests.Parse(p, useIhl: true);
            },
        });
        Assert.False(stuck.Results[0].Passed, stuck.ToString());
        Assert.Contains("gave up", stuck.Results[0].Detail);
        Assert.True(stuck.Results[1].Passed && stuck.Results[2].Passed, stuck.ToString());
    }

    [Fact]
    public async Task Traceroute_the_reference_loop_gets_full_marks_and_a_shared_timeout_loses_the_silent_router_row()
    {
        var ours = await JudgeAsync(TracerouteStudentChecks.Lab, new GapOffer("traceroute-loop") { Traceroute = (p, d, o, t) => IcmpStudentCheckTests.Loop(p, d, o, sharedTimeout: false, t) });
        Assert.True(ours.AllPassed && ours.Passed == 4, ours.ToString());

        // The probes' timeouts are recorded by the judge's path, where the student's loop sent them.
        var shared = await JudgeAsync(TracerouteStudentChecks.Lab, new GapOffer("traceroute-loop") { Traceroute = (p, d, o, t) => IcmpStudentCheckTests.Loop(p, d, o, sharedTimeout: true, t) });
        Assert.False(shared.Results[1].Passed, shared.ToString());
        Assert.StartsWith("a silent router is *", shared.Results[1].Name);
    }

    [Fact]
    public async Task Video_the_reference_gets_full_marks_and_each_classic_mistake_loses_its_row()
    {
        var header = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtp-header") { RtpHeader = RtpPacket.WriteHeader });
        Assert.True(header.AllPassed && header.Passed == 4, header.ToString());
        var client = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtsp-requests")
        {
            RtspRequest = (m, u, s) => VideoStudentCheckTests.Request(m, u, s), RtspReply = (r, s) => VideoStudentCheckTests.Reply(r, s),
        });
        Assert.True(client.AllPassed && client.Passed == 4, client.ToString());

        RtpHeaderWriter swapped = (packet, bytes) =>
        {
            RtpPacket.WriteHeader(packet, bytes);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], packet.Timestamp);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], packet.SequenceNumber);
        };
        var wrongOrder = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtp-header") { RtpHeader = swapped });
        Assert.False(wrongOrder.Results[0].Passed, wrongOrder.ToString());
        Assert.Contains("sequence number: you wrote", wrongOrder.Results[0].Detail);
        var constant = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtp-header") { RtpHeader = (packet, bytes) => RtpPacket.WriteHeader(packet with { SequenceNumber = 1 }, bytes) });
        Assert.False(constant.Results[3].Passed, constant.ToString());

        var cseq = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtsp-requests")
        {
            RtspRequest = (m, u, s) => VideoStudentCheckTests.Request(m, u, s, countCSeq: false), RtspReply = (r, s) => VideoStudentCheckTests.Reply(r, s),
        });
        Assert.False(cseq.Results[0].Passed, cseq.ToString());
        var session = await JudgeAsync(VideoStudentChecks.Lab, new GapOffer("rtsp-requests")
        {
            RtspRequest = (m, u, s) => VideoStudentCheckTests.Request(m, u, s, sendSession: false), RtspReply = (r, s) => VideoStudentCheckTests.Reply(r, s),
        });
        Assert.False(session.Results[2].Passed, session.ToString());
        Assert.StartsWith("the session id", session.Results[2].Name);
    }

    [Fact]
    public async Task An_offer_of_a_check_already_judged_or_of_another_lab_is_not_run()
    {
        var judge = new TcpListener(IPAddress.Loopback, 0);
        judge.Start();
        try
        {
            foreach (var (lab, judged, problem) in new[] { (VideoStudentChecks.Lab, new[] { "rtp-header" }, "offered again"), (WebStudentChecks.Lab, [], "not a check of 01-web-server") })
            {
                var hosting = StudentHost.ServeAsync(new GapOffer("rtp-header") { RtpHeader = RtpPacket.WriteHeader }, (IPEndPoint)judge.LocalEndpoint, CancellationToken.None);
                using var kernel = await judge.AcceptTcpClientAsync().WaitAsync(Bound);
                var result = await RemoteGap.JudgeAsync(kernel, lab, Path.GetTempPath(), VideoTesting.Clip, judged, CancellationToken.None).WaitAsync(Bound);
                Assert.Null(result.Card);
                Assert.Contains(problem, result.Problem);
                Assert.Contains(problem, await hosting.WaitAsync(Bound));
            }
        }
        finally
        {
            judge.Stop();
        }
    }

    /// <summary>The reference solution of lab 4's gap (notebooks/student/solutions/04-web-proxy.handle-client.csx); without the cache's lookup when asked.</summary>
    private static async Task HandleClient(Socket client, ProxyCache cache, bool useCache, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        var filled = 0;
        while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
        {
            if (filled == buffer.Length) return;
            var received = await client.ReceiveAsync(buffer.AsMemory(filled), cancellationToken);
            if (received == 0) return;
            filled += received;
        }
        var parts = System.Text.Encoding.ASCII.GetString(buffer, 0, filled).Split("\r\n")[0].Split(' ');
        var url = new Uri(parts[1]);
        if (useCache && cache.TryGetRaw(url.ToString(), out var cached))
        {
            await client.SendAsync(cached, cancellationToken);
            return;
        }
        using var origin = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await origin.ConnectAsync(url.Host, url.Port, cancellationToken);
        await origin.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.0\r\nHost: {url.Authority}\r\nConnection: close\r\n\r\n"), cancellationToken);
        var response = new MemoryStream();
        var chunk = new byte[64 * 1024];
        for (int n; (n = await origin.ReceiveAsync(chunk, cancellationToken)) > 0;) response.Write(chunk, 0, n);
        var bytes = response.ToArray();
        cache.StoreRaw(url.ToString(), bytes);
        await client.SendAsync(bytes, cancellationToken);
    }
}

using System.Net;
using System.Net.Sockets;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Video;

/// <summary>
/// The video lab's checks of a student's two parts: the server's RTP header packing (<see cref="RtpHeaderWriter"/>)
/// and the client's RTSP requests and replies (<see cref="RtspRequestWriter"/>, <see cref="RtspReplyReader"/>). The
/// student's functions run inside the library's server and client, against real sockets on loopback.
/// <code>await VideoStudentChecks.RunHeaderAsync(WriteRtpHeader)</code>
/// </summary>
public static class VideoStudentChecks
{
    public const string Lab = "07-video-streaming";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public static Task<ReportCard> RunHeaderAsync(RtpHeaderWriter writer, MjpegClip clip, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, HeaderChecks(writer, clip), cancellationToken);

    public static Task<ReportCard> RunClientAsync(RtspRequestWriter writer, RtspReplyReader reader, MjpegClip clip, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, ClientChecks(writer, reader, clip), cancellationToken);

    public static IReadOnlyList<StudentCheck> HeaderChecks(RtpHeaderWriter writer, MjpegClip clip) =>
    [
        new("the fixed header's fields, in RFC 3550's order",
            "Byte 0 is V (2 bits), P, X, CC (4 bits); byte 1 is M and PT (7 bits); then the sequence number (16 bits), timestamp (32) and SSRC (32), each big-endian (most significant byte first).",
            token =>
            {
                var random = new Random(2435);
                for (var i = 0; i < 20; i++)
                {
                    var packet = new RtpPacket
                    {
                        Marker = i % 3 == 0, SequenceNumber = (ushort)random.Next(65536), Timestamp = (uint)random.NextInt64(uint.MaxValue),
                        Ssrc = (uint)random.NextInt64(uint.MaxValue),
                    };
                    Compare(writer, packet);
                }
                return Task.FromResult("20 headers byte for byte as RFC 3550 draws them");
            }, CheckTimeout),
        new("version 2 and payload type 26 (JPEG)",
            "V is the top two bits of byte 0 (2 → 0b10xxxxxx); PT is the low 7 bits of byte 1 (26 for JPEG).",
            token =>
            {
                var header = Written(writer, new RtpPacket { SequenceNumber = 1, Timestamp = 2, Ssrc = 3 });
                Expect(header[0] >> 6 == 2, $"version {header[0] >> 6} in byte 0 ({header[0]:X2}), expected 2");
                Expect((header[1] & 0x7F) == 26, $"payload type {header[1] & 0x7F} in byte 1 ({header[1]:X2}), expected 26");
                return Task.FromResult($"byte 0 = {header[0]:X2}, byte 1 = {header[1]:X2}");
            }, CheckTimeout),
        new("the marker bit on a frame's last packet only",
            "M is the top bit of byte 1: set it from packet.Marker (the library sets Marker on each frame's last packet).",
            token =>
            {
                var marked = Written(writer, new RtpPacket { Marker = true });
                var unmarked = Written(writer, new RtpPacket { Marker = false });
                Expect((marked[1] & 0x80) != 0, $"byte 1 is {marked[1]:X2} for a packet with Marker = true: the top bit must be set");
                Expect((unmarked[1] & 0x80) == 0, $"byte 1 is {unmarked[1]:X2} for a packet with Marker = false: the top bit must be clear");
                return Task.FromResult("marker set and cleared as asked");
            }, CheckTimeout),
        new("a stream from the server with your header: sequence numbers count up, frames play",
            "Write packet.SequenceNumber (not a constant) into bytes 2–3: the receiver orders packets and counts loss by it.",
            async token =>
            {
                await using var server = RtspServer.Start(new RtspServerOptions { Clip = Faster(clip), HeaderWriter = writer });
                await using var player = await VideoPlayer.OpenAsync(server.Url, cancellationToken: token).ConfigureAwait(false);
                var frames = await player.ReceiveAsync(5, _ => { }, Wait, token).ConfigureAwait(false);
                var packets = player.Receiver.Packets;
                var repeated = player.Statistics.PacketsDuplicate;
                Expect(repeated == 0, $"{repeated} packets repeated a sequence number already seen (the receiver drops them as duplicates): each packet's must be the previous one's + 1");
                Expect(packets.Count > 5, $"{packets.Count} RTP packets arrived");
                var steps = packets.Zip(packets.Skip(1), (a, b) => (ushort)(b.SequenceNumber - a.SequenceNumber)).ToList();
                Expect(steps.All(s => s == 1), $"sequence numbers {string.Join(" ", packets.Take(8).Select(p => p.SequenceNumber))}…: each packet's must be the previous one's + 1");
                Expect(frames == 5, $"{frames} frames played of 5 ({player.Statistics})");
                return $"{packets.Count} packets in sequence, 5 frames played";
            }, CheckTimeout),
    ];

    public static IReadOnlyList<StudentCheck> ClientChecks(RtspRequestWriter writer, RtspReplyReader reader, MjpegClip clip) =>
    [
        new("CSeq counts up with every request",
            "Add 1 to state.CSeq for each request and write it as the CSeq header: the server repeats it, so the client can match each reply to its request.",
            async token =>
            {
                await using var server = RtspServer.Start(new RtspServerOptions { Clip = clip });
                await using var client = await RtspClient.ConnectAsync(server.Url, new RtspClientOptions { RequestWriter = writer, ReplyReader = reader }, token).ConfigureAwait(false);
                await client.OptionsAsync(token).ConfigureAwait(false);
                await client.OptionsAsync(token).ConfigureAwait(false);
                await client.DescribeAsync(token).ConfigureAwait(false);
                var sent = client.Transcript.Messages.Where(m => m.FromClient).Select(m => Header(m.Text, "CSeq")).ToList();
                Expect(sent.SequenceEqual(["1", "2", "3"]), $"CSeq {string.Join(", ", sent.Select(s => s ?? "(none)"))} in three requests, expected 1, 2, 3");
                return "CSeq 1, 2, 3";
            }, CheckTimeout),
        new("a reply whose CSeq is not the request's is refused",
            "Read the reply's CSeq header and compare it with state.CSeq: a reply to another request must return false.",
            token =>
            {
                var state = new RtspClientState { CSeq = 4 };
                Expect(reader("RTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n", state), "the reply \"RTSP/1.0 200 OK, CSeq: 4\" to request 4 was refused");
                Expect(!reader("RTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n", state), "a reply with CSeq 3 was accepted as the answer to request 4");
                Expect(!reader("RTSP/1.0 455 Method Not Valid in This State\r\nCSeq: 4\r\n\r\n", state), "a 455 reply was accepted: only 200 is success");
                return Task.FromResult("CSeq 4 accepted, CSeq 3 and status 455 refused");
            }, CheckTimeout),
        new("the session id from SETUP is kept and sent with PLAY and TEARDOWN",
            "In the SETUP reply, read the Session header (the id is before any ';timeout=…') into state.Session; write \"Session: <id>\" in every later request.",
            async token =>
            {
                await using var server = RtspServer.Start(new RtspServerOptions { Clip = clip });
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                await using var client = await RtspClient.ConnectAsync(server.Url, new RtspClientOptions { RequestWriter = writer, ReplyReader = reader }, token).ConfigureAwait(false);
                var setup = await client.SetupAsync(((IPEndPoint)udp.Client.LocalEndPoint!).Port, token).ConfigureAwait(false);
                var id = setup.Session;
                Expect(client.Session == id, $"after SETUP the session is \"{client.Session}\", the server gave \"{id}\"");
                await client.PlayAsync(token).ConfigureAwait(false);
                await client.TeardownAsync(token).ConfigureAwait(false);
                var sessions = client.Transcript.Messages.Where(m => m.FromClient).Skip(1).Select(m => Header(m.Text, "Session")).ToList();
                Expect(sessions.All(s => s == id), $"PLAY and TEARDOWN carried Session {string.Join(", ", sessions.Select(s => s ?? "(none)"))}, expected {id}");
                return $"session {id} kept and sent";
            }, CheckTimeout),
        new("the whole dialogue plays the clip",
            "SETUP needs \"Transport: RTP/AVP;unicast;client_port=<state.RtpPort>-<state.RtpPort + 1>\": that is where the server sends RTP.",
            async token =>
            {
                await using var server = RtspServer.Start(new RtspServerOptions { Clip = Faster(clip) });
                await using var player = await VideoPlayer.OpenAsync(server.Url, new RtspClientOptions { RequestWriter = writer, ReplyReader = reader }, cancellationToken: token).ConfigureAwait(false);
                var frames = await player.ReceiveAsync(5, _ => { }, Wait, token).ConfigureAwait(false);
                Expect(frames == 5, $"{frames} frames arrived of 5");
                return "OPTIONS, DESCRIBE, SETUP, PLAY: 5 frames played";
            }, CheckTimeout),
    ];

    private static MjpegClip Faster(MjpegClip clip) => new(clip.Name, clip.Frames, 50);

    private static byte[] Written(RtpHeaderWriter writer, RtpPacket packet)
    {
        var header = new byte[RtpPacket.FixedHeaderLength];
        writer(packet, header);
        return header;
    }

    private static void Compare(RtpHeaderWriter writer, RtpPacket packet)
    {
        var expected = Written(RtpPacket.WriteHeader, packet);
        var actual = Written(writer, packet);
        if (expected.AsSpan().SequenceEqual(actual)) return;
        var want = new RtpHeaderDiagram(expected).Read();
        var got = new RtpHeaderDiagram(actual).Read();
        var wrong = want.Zip(got).First(p => p.First.Value != p.Second.Value);
        throw new CheckFailedException($"{wrong.First.Name}: you wrote {wrong.Second.Value}, expected {wrong.First.Value} (header {Convert.ToHexString(actual)}, expected {Convert.ToHexString(expected)})");
    }

    private static string? Header(string message, string name) =>
        message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim().Split(';')[0];
}

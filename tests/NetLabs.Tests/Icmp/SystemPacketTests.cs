using System.Net;
using System.Net.Sockets;
using NetLabs.Icmp;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Icmp;

/// <summary>Our parser against packets the system made: iputils ping's requests and the kernel's replies, read off a raw socket.</summary>
public sealed class SystemPacketTests
{
    [SkippableFact]
    public async Task Iputils_ping_requests_and_kernel_replies_parse_and_pair_up()
    {
        Skip.If(Environment.UserName != "root", "reading other programs' ICMP needs a raw socket (root).");
        var ping = ExternalProcess.Require("ping", "iputils-ping");
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var packets = new List<ReceivedIcmp>();
        using var listening = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var capture = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!listening.IsCancellationRequested)
            {
                try
                {
                    var r = await raw.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), listening.Token);
                    // A raw socket sees every ICMP packet on the machine, also other tests' deliberately damaged ones:
                    // only those carrying ping's -p a5 pattern (the last byte) are iputils' and their replies, and those must parse.
                    if (r.ReceivedBytes < 20 + 8 + 40 || buffer[r.ReceivedBytes - 1] != 0xA5) continue;
                    Assert.True(ReceivedIcmp.TryParse(buffer.AsSpan(0, r.ReceivedBytes), true, IPAddress.None, out var packet, out var error), error);
                    lock (packets) packets.Add(packet);
                }
                catch (OperationCanceledException) { return; }
            }
        });
        // -p fills the data with a pattern we can recognise; -s 40 makes 48-byte messages (an even length) and -s 41 an odd one.
        foreach (var size in new[] { "40", "41" })
        {
            var result = await ExternalProcess.RunAsync(ping, ["-n", "-c", "2", "-i", "0.2", "-s", size, "-p", "a5", "127.0.0.1"], TimeSpan.FromSeconds(15));
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        await Task.Delay(200);
        await listening.CancelAsync();
        await capture.WaitAsync(TimeSpan.FromSeconds(10));

        List<ReceivedIcmp> seen;
        lock (packets) seen = packets.Where(p => p.Message.Data.Length >= 40 && p.Message.Data.Span[^1] == 0xA5).ToList();
        var requests = seen.Where(p => p.Message.Type == (byte)IcmpType.EchoRequest).ToList();
        var replies = seen.Where(p => p.Message.Type == (byte)IcmpType.EchoReply).ToList();
        Assert.Equal(4, requests.Count);
        Assert.Equal(4, replies.Count);
        Assert.Equal([48, 48, 49, 49], requests.Select(r => r.Message.Bytes.Length));
        foreach (var request in requests)
        {
            // The kernel's reply carries the same identifier, sequence number and data: our matching finds it.
            var reply = Assert.Single(replies, r => r.AnswersEcho(IPAddress.Loopback, request.Message.Identifier, request.Message.Sequence));
            Assert.True(reply.Message.Data.Span.SequenceEqual(request.Message.Data.Span));
            Assert.Equal(20, reply.IpHeader!.HeaderLength);
            Assert.True(reply.IpHeader.ChecksumValid);
            // Our checksum of their message, with its checksum field zeroed, is the one they sent.
            var zeroed = request.Message.Bytes.ToArray();
            zeroed[2] = zeroed[3] = 0;
            Assert.Equal(request.Message.Checksum, InternetChecksum.Compute(zeroed));
        }
        Assert.Equal([1, 2, 1, 2], requests.Select(r => (int)r.Message.Sequence));
    }
}

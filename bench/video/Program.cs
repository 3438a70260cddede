// bench/video runner. Modes:
//   ours    <clip> <fps> <seconds>   our RtspServer (looping the clip at fps) and our player in this process; prints
//                                    "sent_pps=… received_pps=… lost=… late=… cpu_us_per_packet=…" (the process's CPU:
//                                    sender and receiver together)
//   receive <port> <seconds>         our RtpReceiver alone on 127.0.0.1:port (for a peer that sends RTP/JPEG, ffmpeg);
//                                    waits for the first packet, then counts for <seconds>; prints the same fields
//                                    (cpu_us_per_packet: the receiver's alone; the script adds the sender's)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using NetLabs.Video;

var invariant = CultureInfo.InvariantCulture;
switch (args.FirstOrDefault())
{
    case "ours":
    {
        var clip = MjpegClip.Load(args[1], double.Parse(args[2], invariant));
        var seconds = double.Parse(args[3], invariant);
        await using var server = RtspServer.Start(new RtspServerOptions { Clip = clip, Loop = true, LogCapacity = 0 });
        await using var player = await VideoPlayer.OpenAsync(server.Url);
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await player.ReceiveAsync(int.MaxValue, _ => { }, TimeSpan.FromSeconds(seconds)).WaitAsync(TimeSpan.FromSeconds(seconds)).ContinueWith(_ => 0);
        var elapsed = clock.Elapsed.TotalSeconds;
        var sent = server.Counters.PacketsSent;
        Report(sent / elapsed, player.Statistics, elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu);
        return 0;
    }
    case "receive":
    {
        var seconds = double.Parse(args[2], invariant);
        await using var receiver = RtpReceiver.Start(new RtpReceiverOptions { Port = int.Parse(args[1], invariant) });
        var first = await receiver.NextFrameAsync(TimeSpan.FromSeconds(30));
        if (first is null) { Console.WriteLine("sent_pps=0 received_pps=0 lost=0 late=0"); return 1; }
        var start = receiver.Statistics;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var end = receiver.Statistics;
        var received = end.PacketsReceived - start.PacketsReceived;
        Report(double.NaN, end with { PacketsReceived = received, PacketsLost = end.PacketsLost - start.PacketsLost, PacketsLate = end.PacketsLate - start.PacketsLate }, seconds,
            Process.GetCurrentProcess().TotalProcessorTime - cpu);
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: VideoBench ours CLIP FPS SECONDS | receive PORT SECONDS");
        return 2;
}

void Report(double sentPps, RtpReceiverStatistics statistics, double seconds, TimeSpan cpu) =>
    Console.WriteLine(string.Create(invariant,
        $"sent_pps={(double.IsNaN(sentPps) ? "na" : sentPps.ToString("F0", invariant))} received_pps={statistics.PacketsReceived / seconds:F0} lost={statistics.PacketsLost} late={statistics.PacketsLate} cpu_us_per_packet={cpu.TotalMicroseconds / Math.Max(1, statistics.PacketsReceived):F2}"));

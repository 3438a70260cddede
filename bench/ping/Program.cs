// bench/ping runner. Modes:
//   serve                          our PingServer, lossless, on 127.0.0.1; prints its port, runs until stdin closes
//   rtt  <port> <count>            our PingClient, back to back (after a warm-up); prints "p50_us=… p99_us=… lost=… pings=…"
//   rate <port> <rate> <seconds>   paced load (rate datagrams/s) on one socket; prints "sent=… received=…"
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Ping;

var invariant = CultureInfo.InvariantCulture;
switch (args.FirstOrDefault())
{
    case "serve":
    {
        await using var server = PingServer.Start(new PingServerOptions { LossProbability = 0, LogCapacity = 0 });
        Console.WriteLine(server.EndPoint.Port);
        await Console.In.ReadToEndAsync();
        await server.StopAsync();
        var c = server.Counters;
        Console.Error.WriteLine($"server: received={c.Received} echoed={c.Echoed} errors={c.Errors}");
        return 0;
    }
    case "rtt":
    {
        var target = new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], invariant));
        var count = int.Parse(args[2], invariant);
        // Warm-up, as sockperf has (it drops its first 400 ms): runs of 2000 pings with pauses, for at least 0.5 s, so
        // that the JIT has moved the hot code to its final tier (each tier waits for 30 calls and 100 ms of quiet) and
        // its background compiler no longer competes with the measured run for this machine's two cores.
        var warmupPings = 0;
        for (var warmupClock = Stopwatch.StartNew(); warmupClock.Elapsed < TimeSpan.FromSeconds(0.5);)
        {
            await using (var warmup = new PingClient(new PingClientOptions(target) { Count = 2000 }))
                await warmup.RunToEndAsync();
            warmupPings += 2000;
            await Task.Delay(150);
        }
        await using var client = new PingClient(new PingClientOptions(target) { Count = count });
        var statistics = (await client.RunToEndAsync()).Statistics;
        Console.WriteLine(string.Create(invariant, $"p50_us={statistics.P50 * 1000:F3} p99_us={statistics.P99 * 1000:F3} lost={statistics.Lost} pings={warmupPings + count}"));
        return 0;
    }
    case "rtt-raw":
    {
        // The floor for .NET: a bare blocking send/receive loop on one socket, no matching, no timeouts, no statistics.
        var target = new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], invariant));
        var count = int.Parse(args[2], invariant);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var payload = System.Text.Encoding.ASCII.GetBytes(PingMessage.Format(1, DateTimeOffset.UtcNow));
        var buffer = new byte[2048];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        var rtts = new double[count];
        for (var i = -2000; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            socket.SendTo(payload, target);
            socket.ReceiveFrom(buffer, ref from);
            if (i >= 0) rtts[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(rtts);
        Console.WriteLine(string.Create(invariant, $"p50_us={PingStatistics.Percentile(rtts, 50):F3} p99_us={PingStatistics.Percentile(rtts, 99):F3}"));
        return 0;
    }
    case "rate":
    {
        var target = new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], invariant));
        var rate = double.Parse(args[2], invariant);
        var seconds = double.Parse(args[3], invariant);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.ReceiveTimeout = 500;
        long received = 0;
        var receiver = new Thread(() =>
        {
            var buffer = new byte[2048];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            while (true)
            {
                try { socket.ReceiveFrom(buffer, ref from); received++; }
                catch (SocketException) { return; } // 500 ms of silence: done
            }
        }) { IsBackground = true };
        receiver.Start();
        var total = (long)(rate * seconds);
        var start = Stopwatch.GetTimestamp();
        var ticksPerPacket = Stopwatch.Frequency / rate;
        for (long sequence = 1; sequence <= total; sequence++)
        {
            var due = start + (long)(ticksPerPacket * (sequence - 1));
            while (Stopwatch.GetTimestamp() < due) Thread.SpinWait(20);
            socket.SendTo(System.Text.Encoding.ASCII.GetBytes(PingMessage.Format((int)sequence, DateTimeOffset.UtcNow)), target);
        }
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        receiver.Join();
        Console.WriteLine(string.Create(invariant, $"sent={total} received={received} achieved_rate={total / elapsed:F0}"));
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: PingBench serve | rtt <port> <count> | rate <port> <rate> <seconds>");
        return 2;
}

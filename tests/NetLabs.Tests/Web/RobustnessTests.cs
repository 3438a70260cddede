using System.Text;
using System.Text.RegularExpressions;
using NetLabs.Web;
using static NetLabs.Tests.Web.WebTesting;

namespace NetLabs.Tests.Web;

[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;

/// <summary>Thousands of random and mutated requests; silence on the console; no unobserved exceptions.</summary>
[Collection(nameof(ConsoleCapture))]
public partial class RobustnessTests
{
    private static readonly int[] Allowed = [200, 301, 304, 400, 403, 404, 405, 408, 413, 414, 431, 501, 505];

    private static readonly string[] Seeds =
    [
        "GET /HelloWorld.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n",
        "HEAD /images/logo.png HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
        "GET /sub HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /style.css HTTP/1.1\r\nHost: x\r\n\r\nGET /images/photo.jpg HTTP/1.1\r\nHost: x\r\n\r\n",
    ];

    private static readonly byte[] Interesting = "\r\n\0 :%/\\.?#\t\x7f\xff"u8.ToArray();

    /// <summary>A request: a seed mutated a few times, or plain random bytes.</summary>
    private static byte[] Mutate(Random random)
    {
        if (random.Next(10) == 0)
        {
            var noise = new byte[random.Next(1, 4000)];
            random.NextBytes(noise);
            return noise;
        }
        var bytes = Encoding.Latin1.GetBytes(Seeds[random.Next(Seeds.Length)]).ToList();
        for (var m = random.Next(1, 6); m > 0 && bytes.Count > 0; m--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(8))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;                                    // flip a bit
                case 1: bytes[at] = (byte)random.Next(256); break;                                          // replace a byte
                case 2: bytes.Insert(at, Interesting[random.Next(Interesting.Length)]); break;              // insert a delimiter
                case 3: bytes.RemoveRange(at, Math.Min(random.Next(1, 20), bytes.Count - at)); break;      // delete some
                case 4: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(random.Next(1, 40), bytes.Count - at))); break; // repeat some
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;                                     // truncate
                case 6: bytes.InsertRange(at, Enumerable.Repeat((byte)'A', random.Next(1, 3) == 1 ? 9000 : 40_000)); break; // something huge
                default: bytes.InsertRange(at, Encoding.ASCII.GetBytes($"X-{random.Next()}: {random.Next()}\r\n")); break;
            }
        }
        return bytes.ToArray();
    }

    [Fact]
    public async Task Survives_thousands_of_random_and_mutated_requests()
    {
        const int cases = 3000;
        var diagnostics = new List<string>();
        await using var server = Start(Www, tweak: o => o with
        {
            HeaderTimeout = TimeSpan.FromSeconds(1),
            KeepAliveTimeout = TimeSpan.FromSeconds(1),
            Diagnostics = d => { lock (diagnostics) diagnostics.Add(d); },
        });
        var random = new Random(20261126);
        var requests = Enumerable.Range(0, cases).Select(_ => Mutate(random)).ToList();
        var statuses = new List<int>();
        var bad = new List<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, cases), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            // Most clients say they are done (shutdown); every 100th just goes silent and meets the timeout.
            var (received, _) = await ExchangeAsync(server.Port, requests[i], TimeSpan.FromSeconds(5), shutdownAfterSend: i % 100 != 0);
            var text = Latin1(received);
            lock (statuses)
            {
                if (received.Length > 0 && !text.StartsWith("HTTP/1.1 ")) bad.Add($"case {i}: answer does not start with a status line");
                foreach (Match match in StatusLine().Matches(text)) statuses.Add(int.Parse(match.Groups[1].Value));
            }
        });

        Assert.Empty(bad);
        Assert.All(statuses, s => Assert.Contains(s, Allowed));
        Assert.Contains(200, statuses);
        Assert.Contains(400, statuses);
        Assert.True(await EventuallyAsync(() => server.Counters.ActiveConnections == 0, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, server.Counters.HandlerFailures);
        lock (diagnostics) Assert.Empty(diagnostics);

        // And it still serves a good request, exactly.
        var exchange = await server.GetAsync("HelloWorld.html");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Www, "HelloWorld.html")), exchange.Body);
    }

    [Fact]
    public async Task Writes_nothing_to_the_console_and_leaves_no_unobserved_exceptions()
    {
        var unobserved = new List<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            lock (unobserved) unobserved.Add(e.Exception);
        }
        var console = new StringWriter();
        var (stdout, stderr) = (Console.Out, Console.Error);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
        Console.SetOut(console);
        Console.SetError(console);
        try
        {
            foreach (var mode in new[] { WebServerMode.Sequential, WebServerMode.Concurrent })
            {
                var server = Start(Www, mode, o => o with { HeaderTimeout = TimeSpan.FromMilliseconds(300) });
                await server.GetAsync("HelloWorld.html");
                await server.GetAsync("/../etc/passwd");
                await ExchangeAsync(server.Port, "garbage\r\n\r\n"u8.ToArray(), TimeSpan.FromSeconds(2));
                await ExchangeAsync(server.Port, "GET / HTTP/1.1\r\nHo"u8.ToArray(), TimeSpan.FromSeconds(2));       // times out
                await ExchangeAsync(server.Port, "GET / HTTP/1.1\r\nHo"u8.ToArray(), TimeSpan.FromMilliseconds(50)); // we vanish
                var stuck = ExchangeAsync(server.Port, "GET / HTTP/1.1\r\n"u8.ToArray(), TimeSpan.FromSeconds(2));
                await server.StopAsync(TimeSpan.FromMilliseconds(100));
                try { await stuck; } catch (System.Net.Sockets.SocketException) { } // still in the listen queue at stop: reset
            }
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
        Assert.Equal("", console.ToString());
        lock (unobserved) Assert.DoesNotContain(unobserved, e => e.ToString().Contains("NetLabs.Web"));
    }

    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();
}

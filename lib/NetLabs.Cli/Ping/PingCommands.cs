using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using NetLabs.Cli.CommandLine;
using NetLabs.Ping;

namespace NetLabs.Cli.Ping;

/// <summary><c>netlabs ping serve</c>, <c>netlabs ping HOST</c>, <c>netlabs heartbeat serve|send</c>: lab 2 across the room.</summary>
internal static class PingCommands
{
    public static Command CreatePing()
    {
        var host = new Argument<string?>("host") { Description = "The ping server's host name or IP address.", Arity = ArgumentArity.ZeroOrOne };
        var port = new Option<int>("--port") { Description = "The server's UDP port.", DefaultValueFactory = _ => 12000 };
        var count = new Option<int>("--count") { Description = "How many pings.", DefaultValueFactory = _ => 10 };
        var timeout = new Option<string>("--timeout") { Description = "How long to wait for each reply (e.g. 1s, 250ms).", DefaultValueFactory = _ => "1s" };
        var interval = new Option<string>("--interval") { Description = "Time from one ping to the next (0 = as soon as the previous one is answered or timed out).", DefaultValueFactory = _ => "0" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per ping and the summary as JSON (for scripts)." };
        var command = new Command("ping", "Send the lab's pings (`Ping <seq> <time>`) to a UDP ping server and summarise them.")
        {
            host, port, count, timeout, interval, json, Serve(),
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var target = result.GetValue(host) ?? throw new CliFailure("give the server: netlabs ping HOST (or netlabs ping serve to run one).", 2);
            // Every option is checked before the host is looked up: a typo is told at once, in one line.
            var serverPort = ClientPort(result.GetValue(port));
            var pings = Within(result.GetValue(count), "--count", 1, MaxPings);
            var wait = Endpoints.Duration(result.GetValue(timeout)!, "--timeout", TimeSpan.FromMilliseconds(1), PingClientOptions.MaxWait);
            var every = Endpoints.Duration(result.GetValue(interval)!, "--interval", TimeSpan.Zero, PingClientOptions.MaxWait);
            var options = new PingClientOptions(new IPEndPoint(await Endpoints.ResolveAsync(target, ct), serverPort))
            {
                Count = pings, Timeout = wait, Interval = every, LateReplyGrace = TimeSpan.FromMilliseconds(200),
            };
            await using var captured = capture.Start(result, options.Server.Address, $"udp port {serverPort}");
            var asJson = result.GetValue(json);
            if (!asJson) Terminal.Line($"PING {target} ({options.Server}): {options.Count} pings, timeout {options.Timeout.TotalSeconds:0.###} s");
            var replies = new List<PingReply>();
            await using var client = new PingClient(options);
            await foreach (var reply in client.PingAsync(ct))
            {
                replies.Add(reply);
                if (asJson) Terminal.Line(JsonSerializer.Serialize(new { sequence = reply.Sequence, outcome = reply.Outcome.ToString().ToLowerInvariant(), rttMs = reply.RttMilliseconds, reply = reply.Text }));
                else if (reply.Outcome == PingOutcome.Reply) Terminal.Line(reply.ToString());
                else Terminal.Styled(reply.ToString(), reply.Outcome == PingOutcome.Timeout ? "yellow" : "red");
            }
            var statistics = new PingRun(target, replies).Statistics;
            if (asJson)
                Terminal.Line(JsonSerializer.Serialize(new
                {
                    summary = new
                    {
                        sent = statistics.Sent, received = statistics.Received, lossPercent = statistics.LossPercent, late = statistics.Late,
                        duplicates = statistics.Duplicates, minMs = statistics.Min, avgMs = statistics.Avg, maxMs = statistics.Max,
                        mdevMs = statistics.Mdev, p50Ms = statistics.P50, p90Ms = statistics.P90, p99Ms = statistics.P99,
                    },
                }));
            else
            {
                Terminal.Line($"--- {target} ping statistics ---");
                Terminal.Line(statistics.ToString());
                if (Terminal.IsInteractive) Terminal.Table(statistics.ToTable($"{target}: RTT in ms"));
            }
            return statistics.Received > 0 ? 0 : 1; // like ping: failure when nothing came back
        }, cancellationToken));
        return command;
    }

    private static Command Serve()
    {
        var port = new Option<int>("--port") { Description = "UDP port (the textbook's 12000; 0 = any free port).", DefaultValueFactory = _ => 12000 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var loss = new Option<double>("--loss") { Description = "Probability of dropping a ping (the textbook: 4/11 ≈ 0.36).", DefaultValueFactory = _ => PingServerOptions.TextbookLossProbability };
        var delay = new Option<double>("--delay-ms") { Description = "Constant delay before each echo, in ms." };
        var jitter = new Option<double>("--jitter-ms") { Description = "Random extra delay (uniform 0..J ms)." };
        var duplicates = new Option<double>("--duplicates") { Description = "Probability of echoing a ping twice." };
        var seed = new Option<int?>("--seed") { Description = "Seed for reproducible loss, jitter and duplicates." };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print a line per datagram." };
        var command = new Command("serve", "Run the lab's UDP ping server (upper-case echo, random loss). Ctrl+C stops it.")
        {
            port, bind, loss, delay, jitter, duplicates, seed, quiet,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var server = PingServer.Start(new PingServerOptions
            {
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Port = result.GetValue(port),
                LossProbability = Probability(result.GetValue(loss), "--loss"),
                Delay = Milliseconds(result.GetValue(delay), "--delay-ms"),
                Jitter = Milliseconds(result.GetValue(jitter), "--jitter-ms"),
                DuplicateProbability = Probability(result.GetValue(duplicates), "--duplicates"),
                Seed = result.GetValue(seed),
            });
            await using (server)
            {
                Terminal.Line($"ping server listening on udp {server.EndPoint} (loss {server.Options.LossProbability:0.###}, delay {server.Options.Delay.TotalMilliseconds:0.#} ms + jitter {server.Options.Jitter.TotalMilliseconds:0.#} ms)");
                if (!result.GetValue(quiet)) server.Logged += entry => Terminal.Line(entry.ToString());
                await CliRunner.UntilStoppedAsync(ct);
                await server.StopAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
                var counters = server.Counters;
                Terminal.Line($"ping server stopped: {counters.Received} received, {counters.Dropped} dropped, {counters.Echoed} echoed, {counters.Duplicated} duplicated.");
                return 0;
            }
        }, cancellationToken));
        return command;
    }

    public static Command CreateHeartbeat()
    {
        var servePort = new Option<int>("--port") { Description = "UDP port (0 = any free port).", DefaultValueFactory = _ => 12001 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var stoppedAfter = new Option<string>("--stopped-after") { Description = "Silence after which a client counts as stopped.", DefaultValueFactory = _ => "3s" };
        var serve = new Command("serve", "Run the heartbeat server: per-client delay, loss, reordering, and 'client stopped'. Ctrl+C stops it.")
        {
            servePort, bind, stoppedAfter,
        };
        serve.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            await using var server = HeartbeatServer.Start(new HeartbeatServerOptions
            {
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Port = result.GetValue(servePort),
                StoppedAfter = Endpoints.Duration(result.GetValue(stoppedAfter)!, "--stopped-after", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)),
            });
            Terminal.Line($"heartbeat server listening on udp {server.EndPoint}");
            server.Logged += e => Terminal.Line(e.ToString());
            server.ClientStopped += c => Terminal.Styled($"client {c.Client} stopped: {c.Received} received, {c.Lost} lost, {c.Reordered} reordered, {c.Duplicates} duplicates", "yellow");
            await CliRunner.UntilStoppedAsync(ct);
            await server.StopAsync(TimeSpan.Zero, CancellationToken.None);
            Terminal.Table(server.ToTable());
            return 0;
        }, cancellationToken));

        var host = new Argument<string>("host") { Description = "The heartbeat server's host name or IP address." };
        var port = new Option<int>("--port") { Description = "The server's UDP port.", DefaultValueFactory = _ => 12001 };
        var id = new Option<string>("--id") { Description = "This client's id (default: the machine's name).", DefaultValueFactory = _ => Environment.MachineName };
        var interval = new Option<string>("--interval") { Description = "Time between heartbeats.", DefaultValueFactory = _ => "1s" };
        var count = new Option<int?>("--count") { Description = "Stop after this many heartbeats (default: until Ctrl+C)." };
        var skip = new Option<double>("--skip") { Description = "Probability of not sending a heartbeat (simulated loss)." };
        var seed = new Option<int?>("--seed") { Description = "Seed for --skip." };
        var send = new Command("send", "Send heartbeats (sequence number and timestamp) to a heartbeat server.")
        {
            host, port, id, interval, count, skip, seed,
        };
        send.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var clientId = result.GetValue(id)!;
            if (HeartbeatMessage.ClientIdProblem(clientId) is { } problem) throw new CliFailure($"--id: {problem}", 2);
            var serverPort = ClientPort(result.GetValue(port));
            var every = Endpoints.Duration(result.GetValue(interval)!, "--interval", HeartbeatClientOptions.MinInterval, HeartbeatClientOptions.MaxInterval);
            var howMany = result.GetValue(count) is { } n ? Within(n, "--count", 1, int.MaxValue) : (int?)null;
            var skipShare = Probability(result.GetValue(skip), "--skip");
            var address = await Endpoints.ResolveAsync(result.GetValue(host)!, ct);
            using var client = new HeartbeatClient(new HeartbeatClientOptions(new IPEndPoint(address, serverPort), clientId)
            {
                Interval = every, Count = howMany, SkipProbability = skipShare, Seed = result.GetValue(seed),
            });
            Terminal.Line($"sending heartbeats as '{client.Options.ClientId}' to {client.Options.Server} every {client.Options.Interval.TotalSeconds:0.###} s");
            try
            {
                await Terminal.WhileAsync("sending heartbeats (Ctrl+C stops) …", async () => { await client.RunAsync(ct); return 0; });
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            Terminal.Line($"sent {client.Sent} heartbeat(s), skipped {client.Skipped}, last sequence {client.LastSentSequence}.");
            return 0;
        }, cancellationToken));
        return new Command("heartbeat", "The UDP heartbeat (lab 2, optional part).") { serve, send };
    }

    /// <summary>The most pings one run sends (a day of one per 100 ms).</summary>
    private const int MaxPings = 1_000_000;

    /// <summary>A server's port for a client: 1–65535 (0 means "any" only when listening).</summary>
    private static int ClientPort(int port) => Within(port, "--port", 1, 65535);

    private static int Within(int value, string option, int min, int max) =>
        value >= min && value <= max ? value : throw new CliFailure($"{option} {value} is out of range: give {min} to {max}.", 2);

    private static double Probability(double value, string option) =>
        value is >= 0 and <= 1 ? value : throw new CliFailure(string.Create(CultureInfo.InvariantCulture, $"{option} {value} is not a probability: give 0 to 1 (e.g. 0.25)."), 2);

    private static TimeSpan Milliseconds(double value, string option) =>
        value >= 0 && value <= PingServerOptions.MaxDelay.TotalMilliseconds ? TimeSpan.FromMilliseconds(value)
            : throw new CliFailure(string.Create(CultureInfo.InvariantCulture, $"{option} {value} is out of range: give 0 to {PingServerOptions.MaxDelay.TotalMilliseconds:0} ms."), 2);
}

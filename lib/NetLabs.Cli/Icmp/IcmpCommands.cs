using System.CommandLine;
using System.Text.Json;
using NetLabs.Cli.CommandLine;
using NetLabs.Icmp;

namespace NetLabs.Cli.Icmp;

/// <summary><c>netlabs icmp ping HOST</c> and <c>netlabs traceroute HOST</c>: labs 5 and 6, printed like iputils ping and traceroute.</summary>
internal static class IcmpCommands
{
    private static Option<string?> PathOption() => new("--path")
    {
        Description = "Force a sending path: raw (raw socket), datagram (unprivileged ICMP socket) or system (the OS's ping). Default: the best one permitted.",
    };

    private static IcmpSendPath? ParsePath(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "raw" => IcmpSendPath.RawSocket,
        "datagram" or "dgram" => IcmpSendPath.DatagramSocket,
        "system" => IcmpSendPath.SystemPing,
        _ => throw new CliFailure($"--path '{text}' is not one of raw, datagram, system.", 2),
    };

    private static string PathName(IcmpSendPath path) => path switch
    {
        IcmpSendPath.RawSocket => "raw",
        IcmpSendPath.DatagramSocket => "datagram",
        _ => "system",
    };

    private static T Checked<T>(Func<T> make)
    {
        try
        {
            return make();
        }
        catch (ArgumentOutOfRangeException invalid)
        {
            throw new CliFailure(invalid.Message.Split(Environment.NewLine)[0].Split(" (Parameter")[0], 2);
        }
    }

    private static object Json(ProbeAnswer a) => new
    {
        sequence = a.Request.Sequence, ttl = a.Request.Ttl, status = a.Status.ToString(), from = a.From?.ToString(), rttMs = a.RttMilliseconds,
        replyTtl = a.ReplyTtl, type = a.Status == ProbeStatus.Timeout ? (int?)null : a.Type, code = a.Status == ProbeStatus.Timeout ? (int?)null : a.Code,
        description = a.Description,
    };

    public static Command CreateIcmp()
    {
        var host = new Argument<string>("host") { Description = "The host to ping (name or IPv4 address)." };
        var count = new Option<int>("--count", "-c") { Description = "How many echo requests.", DefaultValueFactory = _ => 4 };
        var interval = new Option<string>("--interval", "-i") { Description = "Time from one request to the next (e.g. 1s, 200ms).", DefaultValueFactory = _ => "1s" };
        var timeout = new Option<string>("--timeout", "-W") { Description = "How long each request waits for its reply.", DefaultValueFactory = _ => "1s" };
        var size = new Option<int>("--size", "-s") { Description = "Data bytes after the ICMP header.", DefaultValueFactory = _ => EchoPayload.DefaultSize };
        var ttl = new Option<int>("--ttl", "-t") { Description = "The requests' time to live.", DefaultValueFactory = _ => 64 };
        var path = PathOption();
        var json = new Option<bool>("--json") { Description = "One JSON object per answer, then the summary (for scripts)." };
        var ping = new Command("ping", "Ping with ICMP echo requests built byte by byte (lab 5), like iputils ping.") { host, count, interval, timeout, size, ttl, path, json };
        var capturePing = new CaptureSwitch().AddTo(ping);
        ping.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var destination = await Endpoints.ResolveAsync(result.GetValue(host)!, ct);
            Prober.RequireIPv4(destination);
            var options = Checked(() =>
            {
                var o = new IcmpPingOptions
                {
                    Count = result.GetValue(count), Interval = Endpoints.Duration(result.GetValue(interval)!, "--interval"),
                    Timeout = Endpoints.Duration(result.GetValue(timeout)!, "--timeout"), PayloadBytes = result.GetValue(size),
                    Ttl = result.GetValue(ttl), Path = ParsePath(result.GetValue(path)),
                };
                o.Validate();
                return o;
            });
            var asJson = result.GetValue(json);
            await using var captured = capturePing.Start(result, destination, "icmp");
            using var prober = Probers.Open(ProbeKind.Icmp, options.Path);
            if (!asJson)
            {
                foreach (var note in prober.PathNotes) Terminal.Styled(note, "grey");
                Terminal.Line(IcmpPingRun.Banner(destination, options.PayloadBytes) + $" Sent over the {prober.PathDescription}.");
            }
            var answers = new List<ProbeAnswer>();
            await foreach (var answer in IcmpPinger.PingAsync(prober, destination, options, ct))
            {
                answers.Add(answer);
                if (asJson) Terminal.Line(JsonSerializer.Serialize(Json(answer)));
                else if (answer.Status == ProbeStatus.EchoReply) Terminal.Line(answer.ToString());
                else Terminal.Styled(answer.ToString(), answer.Status == ProbeStatus.Timeout ? "yellow" : "red");
            }
            var run = new IcmpPingRun(destination, options, prober.Path, prober.PathDescription, prober.PathNotes, answers, prober.Malformed, prober.Ignored);
            var s = run.Statistics;
            if (asJson)
                Terminal.Line(JsonSerializer.Serialize(new
                {
                    summary = new
                    {
                        destination = destination.ToString(), path = PathName(run.Path), sent = s.Sent, received = s.Received, errors = run.Errors,
                        lossPercent = s.LossPercent, minMs = s.Min, avgMs = s.Avg, maxMs = s.Max, mdevMs = s.Mdev, p50Ms = s.P50, p90Ms = s.P90, p99Ms = s.P99,
                        ignored = run.Ignored, malformed = run.Malformed,
                    },
                }));
            else
            {
                Terminal.Line("");
                Terminal.Line(IcmpPingRun.Summary(destination, s, run.Errors));
            }
            return s.Received > 0 ? 0 : 1; // like ping: failure when nothing came back
        }, cancellationToken));
        return new Command("icmp", "Lab 5: the ICMP pinger.") { ping };
    }

    public static Command CreateTraceroute()
    {
        var host = new Argument<string>("host") { Description = "The host to trace (name or IPv4 address)." };
        var udp = new Option<bool>("--udp", "-U") { Description = "UDP probes to high ports (classic traceroute; needs a raw socket to read the answers)." };
        var icmp = new Option<bool>("--icmp", "-I") { Description = "ICMP echo probes (the default; also runs without privileges)." };
        var maxHops = new Option<int>("--max-hops", "-m") { Description = "The largest TTL tried.", DefaultValueFactory = _ => 30 };
        var firstTtl = new Option<int>("--first-ttl", "-f") { Description = "The TTL to start from.", DefaultValueFactory = _ => 1 };
        var queries = new Option<int>("--queries", "-q") { Description = "Probes per hop.", DefaultValueFactory = _ => 3 };
        var wait = new Option<string>("--wait", "-w") { Description = "How long each probe waits for its answer (every probe has its own).", DefaultValueFactory = _ => "2s" };
        var port = new Option<int>("--port", "-p") { Description = "UDP probes: the first destination port.", DefaultValueFactory = _ => UdpProber.DefaultBasePort };
        var resolve = new Option<bool>("--resolve") { Description = "Look up the routers' names (reverse DNS, each lookup at most 1 s); default: addresses only, like traceroute -n." };
        var path = PathOption();
        var json = new Option<bool>("--json") { Description = "The whole trace as one JSON object (for scripts)." };
        var command = new Command("traceroute", "Trace the routers to a host (lab 6): probes with TTL 1, 2, 3, … like traceroute -n.")
        {
            host, udp, icmp, maxHops, firstTtl, queries, wait, port, resolve, path, json,
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            if (result.GetValue(udp) && result.GetValue(icmp)) throw new CliFailure("choose one of --udp and --icmp.", 2);
            var destination = await Endpoints.ResolveAsync(result.GetValue(host)!, ct);
            Prober.RequireIPv4(destination);
            var options = Checked(() =>
            {
                var o = new TracerouteOptions
                {
                    Kind = result.GetValue(udp) ? ProbeKind.Udp : ProbeKind.Icmp, MaxHops = result.GetValue(maxHops), FirstTtl = result.GetValue(firstTtl),
                    ProbesPerHop = result.GetValue(queries), ProbeTimeout = Endpoints.Duration(result.GetValue(wait)!, "--wait"), BasePort = result.GetValue(port),
                    ResolveNames = result.GetValue(resolve), Path = ParsePath(result.GetValue(path)),
                };
                o.Validate();
                return o;
            });
            var asJson = result.GetValue(json);
            // The probes go to the host; the routers' answers come from elsewhere: ICMP from anyone, UDP to the host.
            await using var captured = capture.Start(result, destination, $"icmp or (udp and dst host {destination})", onlyThisHost: false);
            using var prober = Probers.Open(options.Kind, options.Path, readsRouterErrors: true, options.BasePort);
            if (!asJson)
            {
                foreach (var note in prober.PathNotes) Terminal.Styled(note, "grey");
                Terminal.Line(TracerouteResult.Banner(destination, options) + $", sent over the {prober.PathDescription}");
            }
            var hops = new List<TracerouteHop>();
            await foreach (var hop in Traceroute.TraceAsync(prober, destination, options, ct))
            {
                hops.Add(hop);
                if (!asJson) Terminal.Line(hop.ToString());
            }
            var trace = new TracerouteResult(destination, options, prober.Path, prober.PathDescription, prober.PathNotes, hops);
            if (asJson)
                Terminal.Line(JsonSerializer.Serialize(new
                {
                    destination = destination.ToString(), kind = options.Kind.ToString().ToLowerInvariant(), path = PathName(trace.Path), pathNotes = trace.PathNotes,
                    reached = trace.Reached,
                    hops = hops.Select(h => new
                    {
                        ttl = h.Ttl, addresses = h.Addresses.Select(a => a.ToString()), names = h.Names.ToDictionary(n => n.Key.ToString(), n => n.Value),
                        probes = h.Probes.Select(Json),
                    }),
                }));
            else if (!trace.Reached)
                Terminal.Styled($"{destination} did not answer within {options.MaxHops} hops.", "yellow");
            return trace.Reached ? 0 : 1;
        }, cancellationToken));
        return command;
    }
}

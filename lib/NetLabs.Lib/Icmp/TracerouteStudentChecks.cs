using System.Collections.Concurrent;
using System.Net;
using NetLabs.Checks;
using static NetLabs.Checks.Expectation;

namespace NetLabs.Icmp;

/// <summary>
/// Lab 6's checks of the student's traceroute loop, run against a simulated path (routers that answer after a delay,
/// a silent one, a destination that never answers) so they run anywhere, in a few seconds, without privileges.
/// <code>await TracerouteStudentChecks.RunAsync(TraceLoop)</code>
/// </summary>
public static class TracerouteStudentChecks
{
    public const string Lab = "06-traceroute";
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(10);
    private static readonly IPAddress Destination = IPAddress.Parse("10.6.0.99");

    public static Task<ReportCard> RunAsync(TracerouteHopsLoop loop, CancellationToken cancellationToken = default) =>
        CheckRunner.RunAsync(Lab, Checks(loop), cancellationToken);

    public static IReadOnlyList<StudentCheck> Checks(TracerouteHopsLoop loop) =>
    [
        new("TTL 1, 2, 3, …, three probes each, stopping at the destination",
            "For ttl from options.FirstTtl to options.MaxHops: send options.ProbesPerHop probes (prober.ProbeAsync(new ProbeRequest(destination, ttl, sequence++, options.ProbeTimeout), token)), add new TracerouteHop(ttl, probes, names) to the list, and stop after the hop where hop.Ends.",
            async token =>
            {
                var path = new SimulatedPath(routers: 3, silent: []);
                var hops = await Run(loop, path, new TracerouteOptions { ProbeTimeout = TimeSpan.FromMilliseconds(500) }, token).ConfigureAwait(false);
                Expect(hops.Count == 4, $"{hops.Count} hops, expected 4 (3 routers, then the destination, then stop)");
                Expect(hops.Select(h => h.Ttl).SequenceEqual([1, 2, 3, 4]), $"TTLs {string.Join(", ", hops.Select(h => h.Ttl))}, expected 1, 2, 3, 4");
                Expect(hops.All(h => h.Probes.Count == 3), $"probes per hop {string.Join(", ", hops.Select(h => h.Probes.Count))}, expected 3 each");
                Expect(hops.All(h => h.Probes.All(p => p.Request.Ttl == h.Ttl)), "a hop holds probes sent with another TTL");
                Expect(hops.Take(3).Select((h, i) => h.Addresses.SequenceEqual([SimulatedPath.Router(i + 1)])).All(x => x), "the routers' addresses are not in order");
                Expect(hops[^1].Probes.All(p => p.Status == ProbeStatus.EchoReply), "the last hop is not the destination's echo reply");
                return "4 hops, 3 probes each, routers in order, stopped at the destination";
            }, CheckTimeout),
        new("a silent router is * and every probe after it gets its own full timeout",
            "Give every probe its own timeout (options.ProbeTimeout in each ProbeRequest), never what is left of one shared deadline: a silent router must not eat the time of the hops after it.",
            async token =>
            {
                var path = new SimulatedPath(routers: 3, silent: [2], answerDelay: TimeSpan.FromMilliseconds(150));
                var timeout = TimeSpan.FromMilliseconds(250);
                var hops = await Run(loop, path, new TracerouteOptions { ProbeTimeout = timeout }, token).ConfigureAwait(false);
                Expect(hops.Count == 4, $"{hops.Count} hops, expected 4: the trace goes on past a silent router");
                Expect(hops[1].AllTimedOut, "hop 2 (a router that never answers) is not * * *");
                var shortened = path.Requests.Where(r => r.Timeout != timeout).ToList();
                Expect(shortened.Count == 0, $"{shortened.Count} probes waited less than options.ProbeTimeout (e.g. TTL {shortened.FirstOrDefault()?.Ttl}: {shortened.FirstOrDefault()?.Timeout.TotalMilliseconds:0} ms): each probe needs its own timeout");
                Expect(hops.Skip(2).All(h => h.Probes.All(p => p.Status != ProbeStatus.Timeout)), "hops 3 and 4 answer after 150 ms, within the 250 ms timeout, but show *: the silent hop took their time");
                return "hop 2 is * * *, hops 3 and 4 answer, every probe waited its full 250 ms";
            }, CheckTimeout),
        new("a UDP trace ends at the destination's port unreachable",
            "The destination of a UDP trace answers \"port unreachable\", not an echo reply: stop when hop.Ends (any answer from the destination), not only on EchoReply.",
            async token =>
            {
                var path = new SimulatedPath(routers: 2, silent: [], udp: true);
                var hops = await Run(loop, path, new TracerouteOptions { Kind = ProbeKind.Udp, ProbeTimeout = TimeSpan.FromMilliseconds(300), MaxHops = 8 }, token).ConfigureAwait(false);
                Expect(hops.Count == 3, $"{hops.Count} hops, expected 3 (2 routers, then the destination's port unreachable, then stop)");
                Expect(hops[^1].Probes.All(p => p.Status == ProbeStatus.PortUnreachable), "the last hop is not the destination's port unreachable");
                return "stopped at hop 3: port unreachable from the destination";
            }, CheckTimeout),
        new("stops at the maximum TTL when the destination never answers",
            "Loop only up to options.MaxHops, and start at options.FirstTtl.",
            async token =>
            {
                var path = new SimulatedPath(routers: 2, silent: [3, 4, 5, 6, 7, 8, 9, 10]);
                var hops = await Run(loop, path, new TracerouteOptions { MaxHops = 5, ProbeTimeout = TimeSpan.FromMilliseconds(50), ProbesPerHop = 2 }, token).ConfigureAwait(false);
                Expect(hops.Select(h => h.Ttl).SequenceEqual([1, 2, 3, 4, 5]), $"TTLs {string.Join(", ", hops.Select(h => h.Ttl))}, expected 1 to 5 (MaxHops 5)");
                Expect(hops.All(h => h.Probes.Count == 2), "ProbesPerHop was 2");
                return "5 hops, 2 probes each, then stopped";
            }, CheckTimeout),
    ];

    private static async Task<List<TracerouteHop>> Run(TracerouteHopsLoop loop, SimulatedPath path, TracerouteOptions options, CancellationToken token)
    {
        using (path)
        {
            var hops = await StudentCalls.RunAsync(() => loop(path, Destination, options, token)).ConfigureAwait(false);
            if (hops is null || hops.Any(h => h is null)) throw new CheckFailedException("your loop returned null (or a null hop); return the list of hops");
            return hops;
        }
    }

    /// <summary>
    /// A path of <c>routers</c> routers then the destination: each answers after <c>answerDelay</c>; the silent TTLs never
    /// answer, so their probes cost their full timeout. Every request is recorded. Honours each request's timeout like a socket.
    /// </summary>
    private sealed class SimulatedPath(int routers, int[] silent, TimeSpan? answerDelay = null, bool udp = false) : Prober
    {
        private readonly TimeSpan _delay = answerDelay ?? TimeSpan.FromMilliseconds(2);
        private readonly ConcurrentQueue<ProbeRequest> _requests = new();

        public static IPAddress Router(int n) => IPAddress.Parse($"10.6.{n}.1");
        public IReadOnlyList<ProbeRequest> Requests => [.. _requests];
        public override IcmpSendPath Path => IcmpSendPath.RawSocket;
        public override ProbeKind Kind => udp ? ProbeKind.Udp : ProbeKind.Icmp;

        public override async Task<ProbeAnswer> ProbeAsync(ProbeRequest request, CancellationToken cancellationToken = default)
        {
            CheckDestination(request);
            _requests.Enqueue(request);
            var silentHop = silent.Contains(request.Ttl);
            if (silentHop || _delay >= request.Timeout)
            {
                await Task.Delay(request.Timeout, cancellationToken).ConfigureAwait(false);
                return ProbeAnswer.TimedOut(request);
            }
            await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
            return request.Ttl <= routers
                ? new ProbeAnswer(request, ProbeStatus.TimeExceeded, Router(request.Ttl), _delay, 64 - request.Ttl, (byte)IcmpType.TimeExceeded, 0, 36)
                : udp ? new ProbeAnswer(request, ProbeStatus.PortUnreachable, request.Destination, _delay, 64 - routers, (byte)IcmpType.DestinationUnreachable, 3, 36)
                : new ProbeAnswer(request, ProbeStatus.EchoReply, request.Destination, _delay, 64 - routers, (byte)IcmpType.EchoReply, 0, 40);
        }

        protected override void Dispose(bool disposing) { }
    }
}

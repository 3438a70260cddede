using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using NetLabs.Display;

namespace NetLabs.Icmp;

/// <summary>
/// The traceroute loop, as a seam: the student's own loop (TTL 1, 2, …; probes per hop; stop at the destination) can
/// replace ours while tables, charts and the command stay the same. It yields each hop once its probes are done.
/// </summary>
public delegate IAsyncEnumerable<TracerouteHop> TracerouteLoop(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken cancellationToken);

/// <summary>
/// The traceroute loop as the student writes it: all hops at once, in TTL order. <see cref="Traceroute.FromHops"/> turns
/// it into a <see cref="TracerouteLoop"/>.
/// </summary>
public delegate Task<List<TracerouteHop>> TracerouteHopsLoop(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken cancellationToken);

/// <summary>What traceroute sends and how long it waits; the defaults are Debian traceroute's except the 2 s wait.</summary>
public sealed record TracerouteOptions
{
    /// <summary>ICMP echo probes (traceroute -I, Windows tracert) or UDP to high ports (classic traceroute).</summary>
    public ProbeKind Kind { get; init; } = ProbeKind.Icmp;
    public int FirstTtl { get; init; } = 1;
    public int MaxHops { get; init; } = 30;
    public int ProbesPerHop { get; init; } = 3;
    /// <summary>Each probe's own wait: a hop that never answers costs this per probe, and never less for the next hop.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public int PayloadBytes { get; init; } = 32;
    /// <summary>UDP probes go to this port + the probe's number (33434 is traceroute's).</summary>
    public int BasePort { get; init; } = UdpProber.DefaultBasePort;
    /// <summary>Look up each router's name (reverse DNS), each lookup bounded by <see cref="NameTimeout"/>.</summary>
    public bool ResolveNames { get; init; }
    public TimeSpan NameTimeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Force one sending path; null tries raw socket, then (not on Linux) a datagram socket, then the OS's ping.</summary>
    public IcmpSendPath? Path { get; init; }
    /// <summary>The loop that sends the probes; null is ours (<see cref="Traceroute.TraceAsync"/>).</summary>
    public TracerouteLoop? Loop { get; init; }

    public void Validate()
    {
        if (FirstTtl is < 1 or > 255) throw new ArgumentOutOfRangeException(nameof(FirstTtl), FirstTtl, "The first TTL is 1–255.");
        if (MaxHops < FirstTtl || MaxHops > 255) throw new ArgumentOutOfRangeException(nameof(MaxHops), MaxHops, "The maximum TTL is from the first TTL to 255.");
        if (ProbesPerHop is < 1 or > 10) throw new ArgumentOutOfRangeException(nameof(ProbesPerHop), ProbesPerHop, "Send 1–10 probes per hop.");
        if (ProbeTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ProbeTimeout), ProbeTimeout, "The probe timeout must be more than 0.");
        if (PayloadBytes is < 0 or > 1400) throw new ArgumentOutOfRangeException(nameof(PayloadBytes), PayloadBytes, "The payload is 0–1400 bytes.");
        if (BasePort < 1 || BasePort + MaxHops * ProbesPerHop > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(BasePort), BasePort, "The probes' ports must stay below 65536.");
    }
}

/// <summary>One TTL's probes and their answers (a timeout is a probe nobody answered: "*").</summary>
public sealed record TracerouteHop(int Ttl, IReadOnlyList<ProbeAnswer> Probes, IReadOnlyDictionary<IPAddress, string> Names)
{
    /// <summary>The addresses that answered, in the order they first did (a hop can show several: load balancing).</summary>
    public IReadOnlyList<IPAddress> Addresses => Probes.Where(p => p.From is not null).Select(p => p.From!).Distinct().ToList();

    /// <summary>The destination answered at this hop (echo reply, port unreachable, or another unreachable): the trace ends here.</summary>
    public bool Ends => Probes.Any(p => p.Status is ProbeStatus.EchoReply or ProbeStatus.PortUnreachable or ProbeStatus.Unreachable);

    public bool AllTimedOut => Probes.All(p => p.Status == ProbeStatus.Timeout);

    /// <summary>traceroute -n's line: " 2  10.0.1.1  0.123 ms  0.101 ms  *".</summary>
    public override string ToString()
    {
        var text = new StringBuilder(Ttl.ToString(CultureInfo.InvariantCulture).PadLeft(2));
        IPAddress? shown = null;
        foreach (var probe in Probes)
        {
            if (probe.Status == ProbeStatus.Timeout) { text.Append("  *"); continue; }
            if (!probe.From!.Equals(shown))
            {
                shown = probe.From;
                text.Append("  ").Append(Names.TryGetValue(shown, out var name) ? $"{name} ({shown})" : shown.ToString());
            }
            text.Append("  ").Append(probe.RttMilliseconds!.Value.ToString("0.000", CultureInfo.InvariantCulture)).Append(" ms");
            if (probe.Status == ProbeStatus.Unreachable) text.Append(' ').Append(IcmpNames.TracerouteMark(probe.Code));
        }
        return text.ToString();
    }
}

/// <summary>A whole trace: the hops in TTL order, whether the destination answered, and which path sent the probes.</summary>
public sealed class TracerouteResult(IPAddress destination, TracerouteOptions options, IcmpSendPath path, string pathDescription,
    IReadOnlyList<string> pathNotes, IReadOnlyList<TracerouteHop> hops) : IHtmlDisplay
{
    public IPAddress Destination { get; } = destination;
    public TracerouteOptions Options { get; } = options;
    public IcmpSendPath Path { get; } = path;
    public string PathDescription { get; } = pathDescription;
    public IReadOnlyList<string> PathNotes { get; } = pathNotes;
    public IReadOnlyList<TracerouteHop> Hops { get; } = hops;
    /// <summary>The destination itself answered (a router's "unreachable" ends the trace too, but does not reach it).</summary>
    public bool Reached => Hops.Count > 0 && Hops[^1].Probes.Any(p => p.FromDestination && p.Status is ProbeStatus.EchoReply or ProbeStatus.PortUnreachable or ProbeStatus.Unreachable);

    /// <summary>traceroute's first line.</summary>
    public static string Banner(IPAddress destination, TracerouteOptions options) => string.Create(CultureInfo.InvariantCulture,
        $"traceroute to {destination} ({destination}), {options.MaxHops} hops max, {options.PayloadBytes + Ipv4Header.MinimumLength + 8} byte packets, {(options.Kind == ProbeKind.Icmp ? "ICMP echo" : "UDP")} probes");

    public override string ToString()
    {
        var text = new StringBuilder(Banner(Destination, Options)).AppendLine();
        foreach (var hop in Hops) text.AppendLine(hop.ToString());
        return text.ToString().TrimEnd();
    }

    public HtmlTable ToTable() => new(
        $"traceroute to {Destination}, {(Options.Kind == ProbeKind.Icmp ? "ICMP echo" : "UDP")} probes over the {PathDescription}" + (Reached ? "" : " (destination not reached)"),
        ["TTL", "answered by", .. Enumerable.Range(1, Options.ProbesPerHop).Select(i => $"probe {i} (ms)"), "answer"],
        Hops.Select(h => (IReadOnlyList<string>)
        [
            h.Ttl.ToString(CultureInfo.InvariantCulture),
            h.Addresses.Count == 0 ? "*" : string.Join(", ", h.Addresses.Select(a => h.Names.TryGetValue(a, out var n) ? $"{n} ({a})" : a.ToString())),
            .. h.Probes.Select(p => p.RttMilliseconds?.ToString("F3", CultureInfo.InvariantCulture) ?? "*"),
            string.Join(", ", h.Probes.Select(p => p.Description).Distinct()),
        ]));

    public string ToHtml() => ToTable().ToHtml();
}

/// <summary>Lab 6: probes with TTL 1, 2, 3, … until the destination answers or the maximum TTL is reached.</summary>
public static class Traceroute
{
    /// <summary>Opens the best sending path for the kind of probe and traces.</summary>
    public static async Task<TracerouteResult> RunAsync(IPAddress destination, TracerouteOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new TracerouteOptions();
        options.Validate();
        using var prober = Probers.Open(options.Kind, options.Path, readsRouterErrors: true, options.BasePort);
        return await RunAsync(prober, destination, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Traces through a prober opened elsewhere (e.g. inside a network namespace); its kind wins over the options'.</summary>
    public static async Task<TracerouteResult> RunAsync(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken cancellationToken = default)
    {
        options = options with { Kind = prober.Kind };
        options.Validate();
        var hops = new List<TracerouteHop>();
        await foreach (var hop in (options.Loop ?? TraceAsync)(prober, destination, options, cancellationToken).ConfigureAwait(false)) hops.Add(hop);
        return new TracerouteResult(destination, options, prober.Path, prober.PathDescription, prober.PathNotes, hops);
    }

    /// <summary>A loop that returns all its hops at once, as a <see cref="TracerouteLoop"/>.</summary>
    public static TracerouteLoop FromHops(TracerouteHopsLoop loop) => (prober, destination, options, cancellationToken) => Stream(loop(prober, destination, options, cancellationToken));

    private static async IAsyncEnumerable<TracerouteHop> Stream(Task<List<TracerouteHop>> hops)
    {
        foreach (var hop in await hops.ConfigureAwait(false) ?? []) yield return hop;
    }

    /// <summary>Our loop: each probe with its own timeout, hop by hop, ending after the hop where the destination answered.</summary>
    public static async IAsyncEnumerable<TracerouteHop> TraceAsync(Prober prober, IPAddress destination, TracerouteOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options.Validate();
        var sequence = 0;
        for (var ttl = options.FirstTtl; ttl <= options.MaxHops; ttl++)
        {
            var probes = new List<ProbeAnswer>();
            for (var i = 0; i < options.ProbesPerHop; i++)
            {
                var request = new ProbeRequest(destination, ttl, (ushort)sequence++, options.ProbeTimeout, options.PayloadBytes);
                probes.Add(await prober.ProbeAsync(request, cancellationToken).ConfigureAwait(false));
            }
            var names = options.ResolveNames ? await ReverseDns.LookUpAsync(probes.Where(p => p.From is not null).Select(p => p.From!).Distinct(), options.NameTimeout, cancellationToken).ConfigureAwait(false)
                : new Dictionary<IPAddress, string>();
            var hop = new TracerouteHop(ttl, probes, names);
            yield return hop;
            if (hop.Ends) yield break;
        }
    }
}

/// <summary>Reverse DNS, every lookup bounded in time: a name is nice to have, never worth a stalled trace.</summary>
public static class ReverseDns
{
    public static async Task<IReadOnlyDictionary<IPAddress, string>> LookUpAsync(IEnumerable<IPAddress> addresses, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var lookups = addresses.Select(async address =>
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                var lookup = Dns.GetHostEntryAsync(address.ToString(), deadline.Token);
                var entry = await lookup.WaitAsync(deadline.Token).ConfigureAwait(false);
                return (address, name: entry.HostName);
            }
            catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ArgumentException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return (address, name: (string?)null);
            }
        }).ToList();
        var found = await Task.WhenAll(lookups).ConfigureAwait(false);
        return found.Where(f => !string.IsNullOrEmpty(f.name) && f.name != f.address.ToString()).ToDictionary(f => f.address, f => f.name!);
    }
}

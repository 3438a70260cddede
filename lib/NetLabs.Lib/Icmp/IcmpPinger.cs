using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using NetLabs.Display;
using NetLabs.Ping;

namespace NetLabs.Icmp;

/// <summary>How the ICMP pinger paces and sizes its echo requests; the defaults are iputils ping's.</summary>
public sealed record IcmpPingOptions
{
    public int Count { get; init; } = 4;
    /// <summary>From one request to the next (ping's -i).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long each request waits for its reply (ping's -W); every request has its own.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Data bytes after the 8-byte ICMP header (ping's -s).</summary>
    public int PayloadBytes { get; init; } = EchoPayload.DefaultSize;
    public int Ttl { get; init; } = 64;
    /// <summary>Force one sending path; null tries raw socket, datagram socket, then the OS's ping.</summary>
    public IcmpSendPath? Path { get; init; }

    public void Validate()
    {
        if (Count < 1) throw new ArgumentOutOfRangeException(nameof(Count), Count, "Send at least one echo request.");
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "The timeout must be more than 0.");
        if (Interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Interval), Interval, "The interval cannot be negative.");
        if (PayloadBytes is < 0 or > EchoPayload.MaximumSize) throw new ArgumentOutOfRangeException(nameof(PayloadBytes), PayloadBytes, $"The payload is 0–{EchoPayload.MaximumSize} bytes.");
        if (Ttl is < 1 or > 255) throw new ArgumentOutOfRangeException(nameof(Ttl), Ttl, "A TTL is 1–255.");
    }
}

/// <summary>
/// Lab 5's ping: ICMP echo requests built by hand, one at a time, each answered, timed out or answered by an ICMP
/// error, paced by <see cref="IcmpPingOptions.Interval"/>. The statistics and charts are Lab 2's.
/// </summary>
public static class IcmpPinger
{
    /// <summary>Opens the best sending path, pings, and returns the run with its statistics.</summary>
    public static async Task<IcmpPingRun> RunAsync(IPAddress destination, IcmpPingOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new IcmpPingOptions();
        options.Validate();
        using var prober = Probers.Open(ProbeKind.Icmp, options.Path);
        return await RunAsync(prober, destination, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pings through a prober opened elsewhere (e.g. inside a network namespace) and returns the run.</summary>
    public static async Task<IcmpPingRun> RunAsync(Prober prober, IPAddress destination, IcmpPingOptions options, CancellationToken cancellationToken = default)
    {
        var answers = new List<ProbeAnswer>();
        await foreach (var answer in PingAsync(prober, destination, options, cancellationToken).ConfigureAwait(false)) answers.Add(answer);
        return new IcmpPingRun(destination, options, prober.Path, prober.PathDescription, prober.PathNotes, answers, prober.Malformed, prober.Ignored);
    }

    /// <summary>The answers as they come, one per echo request (sequence numbers from 1, like ping).</summary>
    public static async IAsyncEnumerable<ProbeAnswer> PingAsync(Prober prober, IPAddress destination, IcmpPingOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options.Validate();
        for (var sequence = 1; sequence <= options.Count; sequence++)
        {
            var started = Stopwatch.GetTimestamp();
            yield return await prober.ProbeAsync(new ProbeRequest(destination, options.Ttl, (ushort)sequence, options.Timeout, options.PayloadBytes), cancellationToken).ConfigureAwait(false);
            if (sequence < options.Count && options.Interval - Stopwatch.GetElapsedTime(started) is { } rest && rest > TimeSpan.Zero)
                await Task.Delay(rest, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>One run of the ICMP pinger: every answer in order, Lab 2's statistics over them, and which path sent them.</summary>
public sealed class IcmpPingRun(IPAddress destination, IcmpPingOptions options, IcmpSendPath path, string pathDescription,
    IReadOnlyList<string> pathNotes, IReadOnlyList<ProbeAnswer> answers, int malformed, int ignored) : IHtmlDisplay
{
    public IPAddress Destination { get; } = destination;
    public IcmpPingOptions Options { get; } = options;
    public IcmpSendPath Path { get; } = path;
    public string PathDescription { get; } = pathDescription;
    public IReadOnlyList<string> PathNotes { get; } = pathNotes;
    public IReadOnlyList<ProbeAnswer> Answers { get; } = answers;
    /// <summary>Packets received that could not be read (truncated, wrong checksum, bad IHL).</summary>
    public int Malformed { get; } = malformed;
    /// <summary>ICMP packets that answered none of our requests (someone else's ping, our own requests seen on loopback).</summary>
    public int Ignored { get; } = ignored;
    public int Errors => Answers.Count(a => a.Status is not (ProbeStatus.EchoReply or ProbeStatus.Timeout));

    /// <summary>The run as Lab 2's ping run, so its statistics and charts apply (an ICMP error counts as not received).</summary>
    public PingRun Run { get; } = new PingRun($"ping {destination}", answers.Select(ToPingReply).ToList());
    public PingStatistics Statistics => Run.Statistics;

    private static PingReply ToPingReply(ProbeAnswer answer) => new(answer.Request.Sequence,
        answer.Status == ProbeStatus.EchoReply ? PingOutcome.Reply : PingOutcome.Timeout,
        answer.Status == ProbeStatus.EchoReply ? answer.Rtt : null, answer.ToString(), answer.From is { } from ? new IPEndPoint(from, 0) : null);

    /// <summary>ping's first line: "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data."</summary>
    public string Header => Banner(Destination, Options.PayloadBytes);

    public static string Banner(IPAddress destination, int payloadBytes) => string.Create(CultureInfo.InvariantCulture,
        $"PING {destination} ({destination}) {payloadBytes}({payloadBytes + IcmpMessage.HeaderLength + Ipv4Header.MinimumLength}) bytes of data.");

    /// <summary>ping's summary, from Lab 2's statistics.</summary>
    public static string Summary(IPAddress destination, PingStatistics statistics, int errors)
    {
        var text = new StringBuilder($"--- {destination} ping statistics ---\n");
        text.Append(CultureInfo.InvariantCulture, $"{statistics.Sent} packets transmitted, {statistics.Received} received");
        if (errors > 0) text.Append(CultureInfo.InvariantCulture, $", +{errors} errors");
        text.Append(CultureInfo.InvariantCulture, $", {statistics.LossPercent:0.#}% packet loss");
        if (statistics is { Min: { } min, Avg: { } avg, Max: { } max, Mdev: { } mdev })
            text.Append(CultureInfo.InvariantCulture, $"\nrtt min/avg/max/mdev = {min:0.000}/{avg:0.000}/{max:0.000}/{mdev:0.000} ms");
        return text.ToString();
    }

    public override string ToString()
    {
        var text = new StringBuilder(Header).AppendLine();
        foreach (var answer in Answers) text.AppendLine(answer.ToString());
        return text.Append('\n').Append(Summary(Destination, Statistics, Errors)).ToString();
    }

    public string ToHtml()
    {
        var table = new HtmlTable($"ping {Destination} over the {PathDescription}", ["icmp_seq", "answer", "from", "ttl", "RTT (ms)"],
            Answers.Select(a => (IReadOnlyList<string>)
            [
                a.Request.Sequence.ToString(CultureInfo.InvariantCulture), a.Description, a.From?.ToString() ?? "",
                a.ReplyTtl?.ToString(CultureInfo.InvariantCulture) ?? "", a.RttMilliseconds?.ToString("F3", CultureInfo.InvariantCulture) ?? "",
            ]));
        var ignored = Malformed + Ignored > 0 ? $"<p>Not counted: {Malformed} unreadable and {Ignored} other ICMP packets (not answers to our requests).</p>" : "";
        return table.ToHtml() + ignored + Statistics.ToTable($"ping {Destination}: statistics (RTT in ms)").ToHtml();
    }
}

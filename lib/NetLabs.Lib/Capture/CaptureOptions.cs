namespace NetLabs.Capture;

/// <summary>
/// What to capture around a piece of traffic. The defaults are the settings without which loopback packets are silently
/// lost or arrive late (measured with libpcap 1.10 on Linux): immediate delivery, a 10 ms read timeout, a snapshot
/// length above loopback's 64 KiB frames and a 16 MiB kernel buffer.
/// </summary>
public sealed record CaptureOptions
{
    /// <summary>Keep only traffic to or from these TCP/UDP ports (empty = no port filter).</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary>A BPF filter such as "icmp" or "tcp port 6789" (see <c>man pcap-filter</c>); combined with <see cref="Ports"/> by "and".</summary>
    public string? Filter { get; init; }

    /// <summary>The device to capture on; null = this machine's loopback (<c>lo</c>, <c>lo0</c>, <c>\Device\NPF_Loopback</c>).</summary>
    public string? Device { get; init; }

    /// <summary>Frames kept (rows and .pcapng); later ones are counted, never stored.</summary>
    public int MaxPackets { get; init; } = 10_000;

    /// <summary>Bytes of frames kept in memory; frames beyond are counted, never stored.</summary>
    public long MaxCapturedBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Bytes libpcap keeps of each frame: loopback frames reach 65536 + 14 bytes, so more than 64 KiB.</summary>
    public int SnapshotLength { get; init; } = 262_144;

    /// <summary>The kernel buffer: with libpcap's 2 MiB default a 1 MB loopback transfer loses most of its frames.</summary>
    public int BufferSizeBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Silence on the wire, after the traffic, before the capture stops (late ACKs and FINs still arrive).</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>The longest wait for that silence: a busy loopback does not keep the capture open for ever.</summary>
    public TimeSpan MaxStopWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Shorthand: everything to or from these ports.</summary>
    public static CaptureOptions ForPorts(params int[] ports) => new() { Ports = ports };

    /// <summary>Shorthand: a BPF filter.</summary>
    public static CaptureOptions ForFilter(string filter) => new() { Filter = filter };

    /// <summary>The BPF expression handed to libpcap (empty = everything on the device).</summary>
    public string BpfExpression()
    {
        var ports = Ports.Count == 0 ? null : string.Join(" or ", Ports.Distinct().Select(p => $"port {p}"));
        return (ports, string.IsNullOrWhiteSpace(Filter) ? null : Filter.Trim()) switch
        {
            (null, null) => "",
            ({ } p, null) => p,
            (null, { } f) => f,
            ({ } p, { } f) => $"({p}) and ({f})",
        };
    }
}

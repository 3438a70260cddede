using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NetLabs.Display;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetLabs.Capture;

/// <summary>
/// Captures this machine's loopback traffic around a piece of the lab's own traffic, with libpcap (Npcap on Windows):
/// <c>var seen = await PacketCapture.AroundAsync(CaptureOptions.ForPorts(server.Port), ct => client.GetAsync(…));</c>
/// It never throws for want of a library, a device or a privilege: the traffic runs all the same and the result carries
/// a <see cref="CaptureFailure"/> that says why and how to fix it. Frames and work are bounded by the options.
/// </summary>
public sealed class PacketCapture : IAsyncDisposable
{
    private readonly CaptureOptions _options;
    private readonly object _gate = new();
    private readonly List<CapturedFrame> _frames = [];
    private readonly Stopwatch _sinceLastFrame = Stopwatch.StartNew();
    private readonly LibPcapLiveDevice? _device;
    private long _keptBytes;
    private int _notKept;
    private Task<CaptureResult>? _stop;
    private Thread? _reader;
    private bool _stopping;

    private PacketCapture(CaptureOptions options, string device, string filter, LibPcapLiveDevice? live, CaptureFailure? failure)
    {
        _options = options;
        Device = device;
        Filter = filter;
        _device = live;
        Failure = failure;
    }

    /// <summary>The device captured on ("lo", "lo0", "\Device\NPF_Loopback", …).</summary>
    public string Device { get; }
    public string Filter { get; }
    /// <summary>Null while capturing; why not, otherwise.</summary>
    public CaptureFailure? Failure { get; }
    public bool IsCapturing => Failure is null;

    /// <summary>Opens the device and starts capturing; returns at once with a failed capture when that is not possible.</summary>
    public static PacketCapture Start(CaptureOptions? options = null)
    {
        options ??= new CaptureOptions();
        if (options.MaxPackets < 0 || options.MaxCapturedBytes < 0 || options.SnapshotLength < 64 || options.BufferSizeBytes < 0)
            throw new ArgumentException("CaptureOptions: limits must be positive and the snapshot length at least 64 bytes.", nameof(options));
        var filter = options.BpfExpression();
        var deviceName = options.Device ?? "loopback";
        LibPcapLiveDevice? live = null;
        try
        {
            var devices = LibPcapLiveDeviceList.New();
            live = options.Device is { } named ? devices.FirstOrDefault(d => d.Name == named) : FindLoopback(devices);
            if (live is null)
                return new PacketCapture(options, deviceName, filter, null, CaptureFailure.NoDevice(options.Device, devices.Select(d => d.Name)));
            deviceName = live.Name;
            var capture = new PacketCapture(options, deviceName, filter, live, null);
            live.Open(new DeviceConfiguration
            {
                Mode = DeviceModes.None, // loopback needs no promiscuous mode
                Immediate = true,        // without it packets come ~1 s late, in one batch, and a short capture sees none
                ReadTimeout = 10,        // 0 never delivered
                Snaplen = options.SnapshotLength,
                BufferSize = options.BufferSizeBytes,
            });
            if (filter.Length > 0) live.Filter = filter;
            capture.StartReading();
            return capture;
        }
        catch (Exception error) // whatever libpcap, the loader or the device says becomes the card: a cell never throws for it
        {
            try { live?.Close(); } catch (Exception) { /* the device may never have opened */ }
            return new PacketCapture(options, deviceName, filter, null, CaptureFailure.From(error, deviceName, filter));
        }
    }

    /// <summary>
    /// Starts a capture, runs <paramref name="traffic"/>, waits for the wire to fall quiet and returns what was seen.
    /// An exception of the traffic itself propagates (after the capture is closed): it is the lab's, not the capture's.
    /// </summary>
    public static async Task<CaptureResult> AroundAsync(CaptureOptions options, Func<CancellationToken, Task> traffic, CancellationToken cancellationToken = default)
    {
        await using var capture = Start(options);
        await traffic(cancellationToken);
        return await capture.StopAsync(cancellationToken);
    }

    /// <summary>The same, for traffic that returns something (an exchange, a ping run, a transcript).</summary>
    public static async Task<Captured<T>> AroundAsync<T>(CaptureOptions options, Func<CancellationToken, Task<T>> traffic, CancellationToken cancellationToken = default)
    {
        await using var capture = Start(options);
        var value = await traffic(cancellationToken);
        return new Captured<T>(value, await capture.StopAsync(cancellationToken));
    }

    /// <summary>
    /// Waits until no frame arrived for <see cref="CaptureOptions.QuietPeriod"/> (at most <see cref="CaptureOptions.MaxStopWait"/>),
    /// reads what libpcap still holds, stops and returns the result. Idempotent: every call returns the same result.
    /// </summary>
    public Task<CaptureResult> StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) _stop ??= StopOnceAsync();
        return _stop.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); }
        catch (Exception) { /* disposing never throws; StopAsync's caller saw the error */ }
    }

    private async Task<CaptureResult> StopOnceAsync()
    {
        if (_device is null || Failure is not null) return CaptureResult.Failed(Failure!, Device, Filter);
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < _options.MaxStopWait)
        {
            TimeSpan quietFor;
            lock (_gate) quietFor = _sinceLastFrame.Elapsed;
            if (quietFor >= _options.QuietPeriod) break;
            await Task.Delay(_options.QuietPeriod - quietFor + TimeSpan.FromMilliseconds(5));
        }
        Volatile.Write(ref _stopping, true);
        await Task.Run(() =>
        {
            try { _reader?.Join(_options.MaxStopWait); }
            finally { _device.Close(); }
        });
        CapturedFrame[] frames;
        int notKept;
        lock (_gate) (frames, notKept) = (_frames.ToArray(), _notKept);
        return new CaptureResult(Device, Filter, frames.Select(CapturedPacket.Decode).ToList(), notKept, null, _options.SnapshotLength);
    }

    /// <summary>
    /// Reads on a thread of its own (not the thread pool, which a busy notebook may keep waiting) and returns once the
    /// first read has returned, so the traffic that follows finds the capture already reading.
    /// </summary>
    private void StartReading()
    {
        using var reading = new ManualResetEventSlim();
        _reader = new Thread(() =>
        {
            // A stop ends the loop only at a read that found nothing: the packets of the traffic are all in libpcap's
            // buffer by the time a stop is asked for, but a reader kept waiting by a busy machine may not have read
            // them yet. Leaving at the first look at the flag lost a connection's last packets under load.
            while (true)
            {
                GetPacketStatus status;
                SharpPcap.PacketCapture e;
                try { status = _device!.GetNextPacket(out e); }
                catch (Exception) { break; } // the device closed under us: the capture is over
                finally { if (!reading.IsSet) reading.Set(); }
                if (status == GetPacketStatus.PacketRead) { Arrived(e); continue; }
                if (status is GetPacketStatus.Error or GetPacketStatus.NoRemainingPackets) break;
                if (Volatile.Read(ref _stopping)) break; // a read timed out: nothing left to read
            }
        }) { IsBackground = true, Name = $"capture on {Device}" };
        _reader.Start();
        reading.Wait(_options.MaxStopWait);
    }

    private void Arrived(SharpPcap.PacketCapture e)
    {
        var raw = e.GetPacket(); // a copy: libpcap reuses its buffer
        var frame = new CapturedFrame(raw.Timeval.Date.ToUniversalTime(), (int)raw.LinkLayerType, raw.Data, raw.PacketLength);
        lock (_gate)
        {
            _sinceLastFrame.Restart();
            if (_frames.Count >= _options.MaxPackets || _keptBytes + frame.Bytes.Length > _options.MaxCapturedBytes) { _notKept++; return; }
            _frames.Add(frame);
            _keptBytes += frame.Bytes.Length;
        }
    }

    /// <summary>
    /// The device traffic to <paramref name="remote"/> leaves by: null (loopback) for this machine's own addresses, else
    /// the device that holds the local address the routing table picks. Null when libpcap cannot tell.
    /// </summary>
    public static string? DeviceFor(IPAddress remote)
    {
        if (IPAddress.IsLoopback(remote)) return null;
        try
        {
            using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(remote, 9); // no datagram is sent: connect() on UDP only asks the routing table
            var local = ((IPEndPoint)probe.LocalEndPoint!).Address;
            if (local.Equals(remote) || IPAddress.IsLoopback(local)) return null; // one's own address goes over loopback
            return LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Addresses.Any(a => local.Equals(a.Addr?.ipAddress)))?.Name;
        }
        catch (Exception error) when (error is SocketException or DllNotFoundException or TypeInitializationException or PcapException)
        {
            return null; // Start reports what is missing
        }
    }

    /// <summary>The loopback device by its name on each system, else the one libpcap flags as loopback.</summary>
    private static LibPcapLiveDevice? FindLoopback(IReadOnlyList<LibPcapLiveDevice> devices)
    {
        const uint PcapIfLoopback = 1;
        var byName = OperatingSystem.IsWindows() ? devices.FirstOrDefault(d => d.Name.Contains("NPF_Loopback", StringComparison.OrdinalIgnoreCase))
            : OperatingSystem.IsMacOS() ? devices.FirstOrDefault(d => d.Name == "lo0")
            : devices.FirstOrDefault(d => d.Name == "lo");
        return byName ?? devices.FirstOrDefault(d => d.Interface is { } i && (i.Flags & PcapIfLoopback) != 0);
    }
}

/// <summary>The traffic's own result and what the capture saw of it.</summary>
public sealed record Captured<T>(T Value, CaptureResult Capture) : IHtmlDisplay
{
    public string ToHtml() => Capture.ToHtml();
    public override string ToString() => Capture.ToString();
}

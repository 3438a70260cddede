using System.CommandLine;
using System.Net;
using NetLabs.Capture;

namespace NetLabs.Cli.CommandLine;

/// <summary>
/// <c>--capture</c> and <c>--capture-file F.pcapng</c>, shared by the client commands: the command's own packets are
/// captured around its run and the packet table is printed after its output. Without the privilege to capture the
/// command runs all the same and says, on stderr, why there is no table and how to fix it.
/// </summary>
internal sealed class CaptureSwitch
{
    private const int MaxRowsPrinted = 200;

    public Option<bool> Capture { get; } = new("--capture")
    {
        Description = "Capture this command's packets (libpcap; root or cap_net_raw on Linux, Npcap on Windows) and print them after the run.",
    };

    public Option<string?> File { get; } = new("--capture-file")
    {
        Description = "Also save the packets as a .pcapng file that opens in Wireshark (implies --capture).",
    };

    /// <summary>Adds both options to a client command.</summary>
    public CaptureSwitch AddTo(Command command)
    {
        command.Options.Add(Capture);
        command.Options.Add(File);
        return this;
    }

    public bool IsWanted(ParseResult result) => result.GetValue(Capture) || result.GetValue(File) is not null;

    /// <summary>
    /// Starts capturing packets to or from <paramref name="host"/> matching <paramref name="filter"/> when asked (a no-op
    /// otherwise). Use it with <c>await using</c> at the top of the command: the packet table is printed when the command
    /// ends, after its own output, and also after a failure, since the packets are what explains it.
    /// </summary>
    public async Task<CapturedRun> StartAsync(ParseResult result, string host, string filter, CancellationToken cancellationToken) =>
        IsWanted(result) ? Start(result, await Endpoints.ResolveAsync(host, cancellationToken), filter) : CapturedRun.None;

    /// <summary>
    /// The same for a host already resolved; <paramref name="onlyThisHost"/> false keeps packets from anyone (the routers
    /// that answer a traceroute) that match <paramref name="filter"/>.
    /// </summary>
    public CapturedRun Start(ParseResult result, IPAddress remote, string filter, bool onlyThisHost = true)
    {
        if (!IsWanted(result)) return CapturedRun.None;
        var file = result.GetValue(File);
        if (file is not null && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(file))))
            throw new CliFailure($"--capture-file '{file}': the folder {Path.GetDirectoryName(Path.GetFullPath(file))} does not exist.", 2);
        return new CapturedRun(PacketCapture.Start(new CaptureOptions
        {
            Device = PacketCapture.DeviceFor(remote),
            Filter = !onlyThisHost ? filter : filter.Length == 0 ? $"host {remote}" : $"host {remote} and ({filter})",
        }), file);
    }

    internal sealed class CapturedRun(PacketCapture? capture, string? file) : IAsyncDisposable
    {
        /// <summary>Nothing captured (not asked, or nothing to capture yet).</summary>
        public static CapturedRun None => new(null, null);

        private PacketCapture? _capture = capture;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _capture, null) is { } running) Print(await running.StopAsync(), file);
        }
    }

    private static void Print(CaptureResult seen, string? file)
    {
        if (seen.Failure is { } failure)
        {
            Console.Error.WriteLine($"netlabs: {failure}");
            return;
        }
        Terminal.Line("");
        if (seen.Connections.Count > 0) Terminal.Table(seen.ToConnectionsTable());
        Terminal.Table(seen.ToTable(MaxRowsPrinted));
        if (file is null) return;
        var saved = seen.SavePcapng(Path.GetFullPath(file));
        if (saved.Path is null) Console.Error.WriteLine($"netlabs: {saved}");
        else Terminal.Line($"saved {saved.Packets} packets to {saved.Path} (opens in Wireshark)");
    }
}

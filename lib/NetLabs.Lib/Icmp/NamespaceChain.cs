using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using NetLabs.Display;

namespace NetLabs.Icmp;

/// <summary>
/// A small internet on one Linux machine, for tracing without sending anything outside it: network namespaces
/// client — r1 — … — rN — server joined by veth pairs, each link its own subnet 10.99.k.0/24 (left end .1, right end
/// .2), forwarding on in the routers, routes both ways, ICMP error rate limiting off. Needs root and iproute2.
/// Disposing deletes every namespace, and with them the links.
/// </summary>
public sealed class NamespaceChain : IAsyncDisposable, IHtmlDisplay
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private static int _next = Random.Shared.Next(0, 1000);
    private int _disposed;

    private NamespaceChain(IReadOnlyList<string> namespaces) => Namespaces = namespaces;

    /// <summary>client, r1 … rN, server.</summary>
    public IReadOnlyList<string> Namespaces { get; }
    public string Client => Namespaces[0];
    public string Server => Namespaces[^1];
    public int Routers => Namespaces.Count - 2;
    public IPAddress ClientAddress => IPAddress.Parse("10.99.1.1");
    public IPAddress ServerAddress => IPAddress.Parse($"10.99.{Namespaces.Count - 1}.2");

    /// <summary>What a trace from the client should list: each router's address toward the client, then the server's.</summary>
    public IReadOnlyList<IPAddress> ExpectedHops => Enumerable.Range(1, Namespaces.Count - 1).Select(k => IPAddress.Parse($"10.99.{k}.2")).ToList();

    /// <summary>Why a chain cannot be built here, or null when it can (Linux, root, iproute2).</summary>
    public static string? WhyNotAvailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces are a Linux feature";
        if (Environment.UserName != "root") return "building network namespaces needs root";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return "the ip command is missing (apt-get install iproute2)";
        return null;
    }

    public static async Task<NamespaceChain> CreateAsync(int routers = 3, CancellationToken cancellationToken = default)
    {
        if (WhyNotAvailable() is { } reason) throw new IcmpException($"Cannot build the router chain: {reason}.");
        if (routers is < 1 or > 20) throw new ArgumentOutOfRangeException(nameof(routers), routers, "Build 1–20 routers.");
        var tag = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId % 10000}x{Interlocked.Increment(ref _next) % 1000}");
        var names = new[] { "client" }.Concat(Enumerable.Range(1, routers).Select(r => $"r{r}")).Append("server").Select(n => $"nl{n}{tag}").ToList();
        var chain = new NamespaceChain(names);
        try
        {
            // One `ip -batch` for the whole topology, then one per namespace for its addresses and routes:
            // a handful of processes instead of dozens, which is what the time goes into.
            var topology = new List<string>();
            topology.AddRange(names.Select(ns => $"netns add {ns}"));
            for (var k = 1; k < names.Count; k++)
                // Created straight inside the namespaces: no interface ever appears in this machine's own namespace.
                topology.Add($"link add name right{k} netns {names[k - 1]} type veth peer name left{k} netns {names[k]}");
            await RunAsync("ip", ["-batch", "-"], cancellationToken, input: string.Join('\n', topology) + "\n").ConfigureAwait(false);
            var last = names.Count - 1;
            for (var i = 0; i < names.Count; i++)
            {
                var commands = new List<string> { "link set lo up" };
                if (i > 0) commands.AddRange([$"addr add 10.99.{i}.2/24 dev left{i}", $"link set left{i} up"]);
                if (i < last) commands.AddRange([$"addr add 10.99.{i + 1}.1/24 dev right{i + 1}", $"link set right{i + 1} up"]);
                if (i == 0) commands.Add("route add default via 10.99.1.2");
                else if (i == last) commands.Add($"route add default via 10.99.{last}.1");
                else
                    // Router i sits between subnets i and i+1: subnets further right go via its right neighbour, further left via its left one.
                    for (var subnet = 1; subnet <= last; subnet++)
                    {
                        if (subnet > i + 1) commands.Add($"route add 10.99.{subnet}.0/24 via 10.99.{i + 1}.2");
                        if (subnet < i) commands.Add($"route add 10.99.{subnet}.0/24 via 10.99.{i}.1");
                    }
                await RunAsync("ip", ["-n", names[i], "-batch", "-"], cancellationToken, input: string.Join('\n', commands) + "\n").ConfigureAwait(false);
                // Linux limits how fast a host sends ICMP errors; back-to-back traces would see "*" from the limit, not from the lesson.
                var settings = i is > 0 && i < last ? new[] { "net.ipv4.icmp_ratelimit=0", "net.ipv4.ip_forward=1" } : ["net.ipv4.icmp_ratelimit=0"];
                await SysctlAsync(names[i], settings, cancellationToken).ConfigureAwait(false);
            }
            return chain;
        }
        catch
        {
            await chain.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sets a sysctl inside one namespace (net.* settings belong to each namespace).</summary>
    public Task SysctlAsync(string ns, string setting, CancellationToken cancellationToken = default) =>
        SysctlAsync(ns, [setting], cancellationToken);

    private static Task SysctlAsync(string ns, IEnumerable<string> settings, CancellationToken cancellationToken) =>
        RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", .. settings.SelectMany(s => new[] { "-w", s })], cancellationToken);

    /// <summary>Router <paramref name="router"/> (1-based) stops sending "time exceeded" (an nftables rule in its namespace): it shows as "*".</summary>
    public async Task SilenceRouterAsync(int router, CancellationToken cancellationToken = default)
    {
        var ns = Namespaces[router];
        await RunAsync("nft", ["-f", "-"], cancellationToken, ns,
            "table inet netlabs {\n chain out {\n  type filter hook output priority 0;\n  icmp type time-exceeded drop\n }\n}\n").ConfigureAwait(false);
    }

    /// <summary>Undoes <see cref="SilenceRouterAsync"/>.</summary>
    public Task UnsilenceRouterAsync(int router, CancellationToken cancellationToken = default) =>
        RunAsync("nft", ["delete", "table", "inet", "netlabs"], cancellationToken, Namespaces[router]);

    /// <summary>
    /// Opens a prober whose sockets live in the client namespace. A socket belongs to the namespace of the thread that
    /// created it, for its whole life: the sockets are created on a short-lived thread that first joins the namespace
    /// (setns), and are then used from anywhere in this process.
    /// </summary>
    public Prober OpenClientProber(ProbeKind kind = ProbeKind.Icmp, IcmpSendPath path = IcmpSendPath.RawSocket) =>
        InNamespace(Client, () => Probers.Open(kind, path, readsRouterErrors: true));

    /// <summary>Runs <paramref name="create"/> on a new thread that has joined network namespace <paramref name="ns"/>.</summary>
    public static T InNamespace<T>(string ns, Func<T> create)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new IcmpException($"Cannot enter network namespace {ns} (error {Marshal.GetLastPInvokeError()}); it needs root.");
                result = create();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true, Name = $"netns {ns}" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw failure is IcmpException or ArgumentException ? failure : new IcmpException($"In namespace {ns}: {failure.Message}", failure);
        return result!;
    }

    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken, string? inNamespace = null, string? input = null)
    {
        var start = new ProcessStartInfo(inNamespace is null ? program : "ip")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = input is not null, UseShellExecute = false,
        };
        if (inNamespace is not null) foreach (var a in new[] { "netns", "exec", inNamespace, program }) start.ArgumentList.Add(a);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new IcmpException($"Cannot start {program}.");
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StepTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new IcmpException($"{program} {string.Join(' ', arguments)} did not finish in {StepTimeout.TotalSeconds:0} s.");
        }
        if (process.ExitCode != 0)
            throw new IcmpException($"{program} {string.Join(' ', arguments)} failed: {(await error.ConfigureAwait(false)).Trim()}");
    }

    public HtmlTable ToTable() => new($"Router chain: {Routers} routers between client and server", ["namespace", "role", "addresses"],
        Namespaces.Select((ns, i) => (IReadOnlyList<string>)
        [
            ns, i == 0 ? "client" : i == Namespaces.Count - 1 ? "server" : $"router {i} (forwarding on)",
            string.Join(", ", new[] { i > 0 ? $"10.99.{i}.2" : null, i < Namespaces.Count - 1 ? $"10.99.{i + 1}.1" : null }.Where(a => a is not null)),
        ]));

    public string ToHtml() => ToTable().ToHtml();
    public override string ToString() => $"{string.Join(" — ", Namespaces)} (server {ServerAddress})";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        foreach (var ns in Namespaces)
        {
            try { await RunAsync("ip", ["netns", "del", ns], CancellationToken.None).ConfigureAwait(false); }
            catch (IcmpException) { } // never created, or already gone
        }
    }
}

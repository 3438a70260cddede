using System.CommandLine;
using System.Globalization;
using System.Net;
using NetLabs.Cli.CommandLine;
using NetLabs.Hosting;
using NetLabs.Proxy;

namespace NetLabs.Cli.Proxy;

/// <summary><c>netlabs proxy serve</c> and <c>netlabs proxy get</c>: lab 4 across the room.</summary>
internal static class ProxyCommands
{
    public static Command Create() => new("proxy", "The caching web proxy (lab 4) and a raw-socket client that uses it.") { Serve(), Get() };

    private static Command Serve()
    {
        var port = new Option<int>("--port") { Description = $"TCP port (the lab's {ProxyServerOptions.LabPort}; 0 = any free port).", DefaultValueFactory = _ => ProxyServerOptions.LabPort };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; the room's address (or 0.0.0.0) to serve other machines, with --allow.", DefaultValueFactory = _ => "127.0.0.1" };
        var cacheSize = new Option<string>("--cache-size") { Description = "Memory for cached objects, e.g. 64MB, 512KB (0 = no caching).", DefaultValueFactory = _ => "64MB" };
        var maxObject = new Option<string>("--max-object") { Description = "Largest object kept in the cache (larger ones are only relayed).", DefaultValueFactory = _ => "8MB" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "A folder that keeps cached objects across restarts (bounded by --cache-size too)." };
        var allow = new Option<string[]>("--allow") { Description = "Clients allowed besides this machine: addresses or CIDR ranges (10.0.0.0/24); repeat for more.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("serve", "Run the caching proxy; prints a line per request (client, method, URL, status, HIT/MISS/REVALIDATED, bytes, ms). Ctrl+C stops it.")
        {
            port, bind, cacheSize, maxObject, cacheDir, allow,
        };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var options = new ProxyServerOptions
            {
                Port = result.GetValue(port),
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                CacheBytes = Bytes(result.GetValue(cacheSize)!, "--cache-size"),
                MaxObjectBytes = Bytes(result.GetValue(maxObject)!, "--max-object"),
                CacheDirectory = result.GetValue(cacheDir),
                Allow = (result.GetValue(allow) ?? []).Select(Network).ToList(),
            };
            await using var proxy = ProxyServer.Start(options); // ServerStartException: its sentence is the one line
            proxy.Logged += entry => Terminal.Line(entry.ToString());
            Terminal.Line($"caching proxy at {proxy.Url} ({proxy.Cache})");
            Terminal.Line(options.Allow.Count == 0
                ? "clients: this machine only (--allow 10.0.0.0/24 lets a room use it)"
                : "clients: this machine and " + string.Join(", ", options.Allow));
            if (options.Address.Equals(IPAddress.Any))
                Terminal.Line("reachable at " + string.Join(", ", Listener.LocalAddresses().Select(a => $"http://{a}:{proxy.Port}/")));
            await CliRunner.UntilStoppedAsync(ct);
            await proxy.StopAsync(TimeSpan.FromSeconds(5));
            var counters = proxy.Counters;
            Terminal.Line($"proxy stopped after {counters.Requests} request(s): {counters.Hits} hit(s), {counters.Revalidated} revalidated, {counters.Misses} miss(es).");
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command Get()
    {
        var url = new Argument<string>("url") { Description = "The absolute URL to fetch, e.g. http://10.0.0.1:6789/HelloWorld.html." };
        var proxy = new Option<string?>("--proxy", "-x") { Description = "The proxy as host:port (default: none, straight to the server)." };
        var header = new Option<string[]>("--header", "-H") { Description = "An extra request field, e.g. \"Cache-Control: no-cache\"; repeat for more." };
        var output = new Option<string?>("--output", "-o") { Description = "Save the body to this file." };
        var timeout = new Option<string>("--timeout") { Description = "How long to wait for the answer.", DefaultValueFactory = _ => "10s" };
        var command = new Command("get", "GET a URL over a raw socket, through a proxy (absolute-form request line) or straight; prints the request and the answer's head.")
        {
            url, proxy, header, output, timeout,
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var target) || target.Scheme != Uri.UriSchemeHttp)
                throw new CliFailure($"'{result.GetValue(url)}' is not an http:// URL.", 2);
            IPEndPoint? endPoint = null;
            if (result.GetValue(proxy) is { } proxyText)
            {
                var colon = proxyText.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(proxyText[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var proxyPort) || proxyPort is < 1 or > 65535)
                    throw new CliFailure($"--proxy '{proxyText}' is not host:port (e.g. 10.0.0.1:{ProxyServerOptions.LabPort}).", 2);
                endPoint = new IPEndPoint(await Endpoints.ResolveAsync(proxyText[..colon], ct), proxyPort);
            }
            // The client's own connection: to the proxy, or straight to the server.
            await using var captured = endPoint is not null ? capture.Start(result, endPoint.Address, $"tcp port {endPoint.Port}")
                : await capture.StartAsync(result, target.Host, $"tcp port {target.Port}", ct);
            var exchange = await Terminal.WhileAsync("waiting for the answer …", () => ProxyRawClient.GetAsync(endPoint, target, result.GetValue(header),
                Endpoints.Duration(result.GetValue(timeout)!, "--timeout"), ct));
            Terminal.Line(exchange.Request.TrimEnd());
            Terminal.Line("");
            Terminal.Line(exchange.ResponseHead.TrimEnd());
            Terminal.Line("");
            Terminal.Line(exchange.ToString());
            if (result.GetValue(output) is { } file)
            {
                await File.WriteAllBytesAsync(file, exchange.Body, ct);
                Terminal.Line($"saved {exchange.Body.Length} bytes to {file}");
            }
            return exchange.Status < 400 ? 0 : 1;
        }, cancellationToken));
        return command;
    }

    /// <summary>"64MB", "512KB", "1GB", "1000" (bytes); KB, MB and GB are powers of 1024.</summary>
    internal static long Bytes(string text, string option)
    {
        var trimmed = text.Trim().ToUpperInvariant().Replace("IB", "B", StringComparison.Ordinal);
        var (number, scale) = trimmed.EndsWith("GB", StringComparison.Ordinal) ? (trimmed[..^2], 1L << 30)
            : trimmed.EndsWith("MB", StringComparison.Ordinal) ? (trimmed[..^2], 1L << 20)
            : trimmed.EndsWith("KB", StringComparison.Ordinal) ? (trimmed[..^2], 1L << 10)
            : trimmed.EndsWith('B') ? (trimmed[..^1], 1L)
            : (trimmed, 1L);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || value * scale > long.MaxValue / 2)
            throw new CliFailure($"{option} '{text}' is not a size (e.g. 64MB, 512KB, 0).", 2);
        return (long)(value * scale);
    }

    private static IPNetwork Network(string text)
    {
        if (IPNetwork.TryParse(text, out var network)) return network;
        if (IPAddress.TryParse(text, out var address)) return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        throw new CliFailure($"--allow '{text}' is not an address or a CIDR range (e.g. 10.0.0.7 or 10.0.0.0/24).", 2);
    }
}

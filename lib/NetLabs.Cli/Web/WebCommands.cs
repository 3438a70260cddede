using System.CommandLine;
using NetLabs.Cli.CommandLine;
using NetLabs.Hosting;
using NetLabs.Web;

namespace NetLabs.Cli.Web;

/// <summary><c>netlabs web serve</c> and <c>netlabs web get</c>: lab 1 across the room.</summary>
internal static class WebCommands
{
    public static Command Create() => new("web", "The web server (lab 1) and the raw-socket HTTP client.") { Serve(), Get() };

    private static Command Serve()
    {
        var root = new Option<string?>("--root") { Description = "Folder to serve (default: the repository's data/www, else the current folder)." };
        var port = new Option<int>("--port") { Description = $"TCP port (the lab's {WebServerOptions.LabPort}; 0 = any free port).", DefaultValueFactory = _ => WebServerOptions.LabPort };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var mode = new Option<string>("--mode") { Description = "sequential (the lab's main exercise, one client at a time) or concurrent.", DefaultValueFactory = _ => "sequential" };
        var command = new Command("serve", "Serve a folder over HTTP; prints an access-log line per request. Ctrl+C stops it.") { root, port, bind, mode };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            await using var server = WebServer.Start(new WebServerOptions
            {
                Root = result.GetValue(root) ?? DefaultRoot(),
                Port = result.GetValue(port),
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Mode = result.GetValue(mode) switch
                {
                    "sequential" => WebServerMode.Sequential,
                    "concurrent" => WebServerMode.Concurrent,
                    var other => throw new CliFailure($"--mode '{other}' is not a mode: give sequential or concurrent.", 2),
                },
            });
            server.Logged += entry => Terminal.Line(entry.ToString());
            Terminal.Line($"web server ({server.Mode.ToString().ToLowerInvariant()}) serving {server.RealRoot} at {server.Url}");
            if (server.EndPoint.Address.Equals(System.Net.IPAddress.Any))
                Terminal.Line("reachable at " + string.Join(", ", Listener.LocalAddresses().Select(a => $"http://{a}:{server.Port}/")));
            await CliRunner.UntilStoppedAsync(ct);
            await server.StopAsync(TimeSpan.FromSeconds(5));
            Terminal.Line($"web server stopped after {server.Counters.Requests} request(s).");
            return 0;
        }, cancellationToken));
        return command;
    }

    private static Command Get()
    {
        var host = new Argument<string>("host") { Description = "The server's host name or IP address." };
        var port = new Argument<int>("port") { Description = "The server's TCP port." };
        var path = new Argument<string>("path") { Description = "The file to ask for, e.g. HelloWorld.html." };
        var wire = new Option<bool>("--wire") { Description = "Show the exact bytes sent and received (\\r and \\n made visible)." };
        var output = new Option<string?>("--output", "-o") { Description = "Save the body to this file instead of printing it." };
        var head = new Option<bool>("--head") { Description = "Send HEAD instead of GET." };
        var timeout = new Option<string>("--timeout") { Description = "How long to wait for the server.", DefaultValueFactory = _ => "10s" };
        var command = new Command("get", "The lab's HTTP client: GET a file over a raw TCP socket (client host port filename).")
        {
            host, port, path, wire, output, head, timeout,
        };
        var capture = new CaptureSwitch().AddTo(command);
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var serverPort = result.GetValue(port);
            if (serverPort is < 1 or > 65535) throw new CliFailure($"port {serverPort} does not exist: a server's port is 1–65535 (the lab uses {WebServerOptions.LabPort}).", 2);
            var options = new HttpRawRequestOptions
            {
                Method = result.GetValue(head) ? "HEAD" : "GET",
                Timeout = Endpoints.Duration(result.GetValue(timeout)!, "--timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)),
            };
            var ask = (HttpRawRequestOptions o) => Terminal.WhileAsync("waiting for the server …",
                () => HttpRawClient.GetAsync(result.GetValue(host)!, serverPort, result.GetValue(path)!, o, ct));
            await using var captured = await capture.StartAsync(result, result.GetValue(host)!, $"tcp port {serverPort}", ct);
            var exchange = result.GetValue(output) is { } file
                ? await SaveAsync(file, destination => ask(options with { BodyDestination = destination }), ct)
                : await ask(options);
            if (result.GetValue(wire))
            {
                Terminal.Line(exchange.WireTranscript());
            }
            else
            {
                Terminal.Line($"{exchange.Version} {exchange.StatusCode} {exchange.ReasonPhrase}");
                foreach (var (name, value) in exchange.Headers) Terminal.Line($"{name}: {value}");
                Terminal.Line("");
                if (result.GetValue(output) is null && exchange.Body.Length > 0)
                {
                    if (LooksLikeText(exchange.ContentType)) Terminal.Line(exchange.BodyText);
                    else Terminal.Line($"({exchange.Body.Length} bytes of {exchange.ContentType ?? "data"}; save them with --output FILE)");
                }
            }
            if (result.GetValue(output) is { } saved) Terminal.Line($"saved {exchange.BodyLength} bytes to {saved}");
            return exchange.StatusCode < 400 ? 0 : 1;
        }, cancellationToken));
        return command;
    }

    /// <summary>
    /// Streams the body into <paramref name="file"/> as it arrives (any size: nothing is held in memory). It goes to a
    /// temporary file beside it first, so a failed download never replaces or leaves a half file.
    /// </summary>
    private static async Task<HttpExchange> SaveAsync(string file, Func<Stream, Task<HttpExchange>> get, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(file);
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new CliFailure($"--output '{file}': the folder {folder} does not exist.", 2);
        if (Directory.Exists(full)) throw new CliFailure($"--output '{file}' is a folder: give a file name.", 2);
        var partial = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.part");
        try
        {
            HttpExchange exchange;
            await using (var destination = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
                exchange = await get(destination);
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(partial, full, overwrite: true);
            return exchange;
        }
        finally
        {
            File.Delete(partial); // gone already when moved into place
        }
    }

    private static bool LooksLikeText(string? contentType) =>
        contentType is not null && (contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
                                    || contentType.Contains("json", StringComparison.OrdinalIgnoreCase)
                                    || contentType.Contains("javascript", StringComparison.OrdinalIgnoreCase)
                                    || contentType.Contains("svg", StringComparison.OrdinalIgnoreCase));

    private static string DefaultRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            var www = Path.Combine(dir.FullName, "data", "www");
            if (File.Exists(Path.Combine(dir.FullName, "NetLabs.Lib.sln")) && Directory.Exists(www)) return www;
        }
        return Environment.CurrentDirectory;
    }
}

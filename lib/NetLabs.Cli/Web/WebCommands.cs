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
        var port = new Option<int>("--port") { Description = "TCP port (the lab's 6789; 0 = any free port).", DefaultValueFactory = _ => 6789 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for the room's network.", DefaultValueFactory = _ => "127.0.0.1" };
        var mode = new Option<string>("--mode") { Description = "sequential (the lab's main exercise, one client at a time) or concurrent.", DefaultValueFactory = _ => "sequential" };
        mode.AcceptOnlyFromAmong("sequential", "concurrent");
        var command = new Command("serve", "Serve a folder over HTTP; prints an access-log line per request. Ctrl+C stops it.") { root, port, bind, mode };
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            await using var server = WebServer.Start(new WebServerOptions
            {
                Root = result.GetValue(root) ?? DefaultRoot(),
                Port = result.GetValue(port),
                Address = CliRunner.ParseAddress(result.GetValue(bind)!, "--bind"),
                Mode = result.GetValue(mode) == "concurrent" ? WebServerMode.Concurrent : WebServerMode.Sequential,
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
        command.SetAction((result, cancellationToken) => CliRunner.RunAsync(async ct =>
        {
            var exchange = await Terminal.WhileAsync("waiting for the server …", () => HttpRawClient.GetAsync(result.GetValue(host)!, result.GetValue(port), result.GetValue(path)!,
                new HttpRawRequestOptions
                {
                    Method = result.GetValue(head) ? "HEAD" : "GET",
                    Timeout = Endpoints.Duration(result.GetValue(timeout)!, "--timeout"),
                }, ct));
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
            if (result.GetValue(output) is { } file)
            {
                await File.WriteAllBytesAsync(file, exchange.Body, ct);
                Terminal.Line($"saved {exchange.Body.Length} bytes to {file}");
            }
            return exchange.StatusCode < 400 ? 0 : 1;
        }, cancellationToken));
        return command;
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

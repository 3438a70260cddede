using System.Net;
using NetLabs.Web;

// Usage: WebBench ROOT [PORT] [sequential|concurrent] [log]
// Serves ROOT on 127.0.0.1:PORT (0 = any), prints the URL, and runs until stdin closes.
// Like nginx in the benchmark, it keeps no access log unless "log" is given.
var root = args.Length > 0 ? args[0] : "data/www";
var port = args.Length > 1 ? int.Parse(args[1]) : 0;
var mode = args.Length > 2 && args[2] == "sequential" ? WebServerMode.Sequential : WebServerMode.Concurrent;
var accessLog = args.Length > 3 && args[3] == "log" ? 1000 : 0;

await using var server = WebServer.Start(new WebServerOptions
{
    Root = root, Port = port, Mode = mode, Address = IPAddress.Loopback, LogCapacity = accessLog,
    Diagnostics = message => Console.Error.WriteLine(message),
});
Console.WriteLine(server.Url);
await Console.In.ReadToEndAsync();
var requests = server.Counters.Requests;
Console.WriteLine($"served {requests} requests on {server.Counters.ConnectionsAccepted} connections, " +
    $"{GC.GetTotalAllocatedBytes(precise: true) / Math.Max(1, requests)} bytes allocated per request (start-up included)");

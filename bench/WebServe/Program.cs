// Usage: WebServe ROOT PORT [sequential|concurrent] [log]
// Prints the URL once listening, serves until stdin closes or Ctrl+C.
using System.Net;
using NetLabs.Web;

var root = args.Length > 0 ? args[0] : "data/www";
var port = args.Length > 1 ? int.Parse(args[1]) : 0;
var mode = args.Length > 2 && args[2] == "sequential" ? WebServerMode.Sequential : WebServerMode.Concurrent;
var accessLog = args.Length > 3 && args[3] == "log" ? 1000 : 0;

await using var server = WebServer.Start(new WebServerOptions
{
    Root = root, Port = port, Mode = mode, BindAddress = IPAddress.Loopback, AccessLogCapacity = accessLog,
    Diagnostics = message => Console.Error.WriteLine(message),
});
Console.WriteLine(server.Url);
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
_ = Task.Run(() => { while (Console.In.ReadLine() is not null) { } stop.TrySetResult(); });
await stop.Task;

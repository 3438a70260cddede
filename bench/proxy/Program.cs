using NetLabs.Proxy;

// Usage: ProxyBench [PORT] [CACHE_MB]
// Runs the caching proxy on 127.0.0.1:PORT (0 = any) with a memory cache of CACHE_MB (default 64), prints its URL, and
// runs until stdin closes. Like Squid and tinyproxy in the benchmark, it keeps no request log.
var port = args.Length > 0 ? int.Parse(args[0]) : 0;
var cacheMegabytes = args.Length > 1 ? long.Parse(args[1]) : 64;

await using var proxy = ProxyServer.Start(new ProxyServerOptions { Port = port, CacheBytes = cacheMegabytes << 20, LogCapacity = 0 });
Console.WriteLine(proxy.Url);
await Console.In.ReadToEndAsync();
var counters = proxy.Counters;
Console.WriteLine($"{counters.Requests} requests on {counters.Connections} connections: {counters.Hits} hits, {counters.Misses} misses");

using System.Net;
using System.Net.Sockets;
using System.Text;
using NetLabs.Proxy;
using NetLabs.Web;

namespace NetLabs.Tests.Proxy;

/// <summary>Helpers shared by the proxy tests: origins, clients through the proxy, raw exchanges. Every wait is bounded.</summary>
internal static class ProxyTesting
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static ProxyServer StartProxy(Func<ProxyServerOptions, ProxyServerOptions>? tweak = null)
    {
        var options = new ProxyServerOptions { Port = 0 };
        return ProxyServer.Start(tweak is null ? options : tweak(options));
    }

    /// <summary>Our web server as the origin (the only parts of it used: Start with a root, Port, its access log).</summary>
    public static WebServer StartWebOrigin(string root) => WebServer.Start(new WebServerOptions { Root = root });

    /// <summary>How many requests reached the web server origin: the proof that a hit did not go there.</summary>
    public static int OriginRequests(WebServer origin) => origin.Log.Count;

    /// <summary>An HttpClient that sends everything through the proxy (absolute-form request lines).</summary>
    public static HttpClient ClientThrough(ProxyServer proxy) =>
        new(new SocketsHttpHandler { Proxy = new WebProxy(proxy.Url), UseProxy = true, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = Wait,
        };

    public static string XCache(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache", out var values) ? string.Join(",", values) : "(none)";

    /// <summary>Sends raw bytes on a fresh connection and reads until the proxy closes (the web tests' helper: one way to do it).</summary>
    public static Task<(byte[] Received, bool Closed)> ExchangeAsync(int port, byte[] request, TimeSpan? timeout = null) =>
        Web.WebTesting.ExchangeAsync(port, request, timeout ?? Wait);

    public static Task<(byte[] Received, bool Closed)> ExchangeAsync(int port, string request, TimeSpan? timeout = null) =>
        ExchangeAsync(port, Encoding.Latin1.GetBytes(request), timeout);

    /// <summary>The status code of the first response in <paramref name="received"/>.</summary>
    public static int Status(byte[] received)
    {
        var text = Encoding.Latin1.GetString(received);
        Assert.StartsWith("HTTP/1.1 ", text);
        return int.Parse(text.AsSpan(9, 3));
    }

    /// <summary>A folder of files for an origin, dated ten days ago so that heuristic freshness keeps them for a day.</summary>
    public sealed class OriginSite : IDisposable
    {
        public OriginSite()
        {
            Root = Directory.CreateTempSubdirectory("netlabs-proxy-origin-").FullName;
            Add("index.html", Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body><h1>Origin</h1><img src=\"logo.png\"></body></html>"));
            Image = Add("logo.png", File.ReadAllBytes(Path.Combine(Support.RepoPaths.Data, "www", "images", "logo.png")));
            Binary = Add("data.bin", RandomBytes(300_000, seed: 4)); // every byte value, NULs and CRLFs included
        }

        public string Root { get; }
        public byte[] Image { get; }
        public byte[] Binary { get; }

        public byte[] Add(string relative, byte[] bytes)
        {
            var path = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddDays(-10));
            return bytes;
        }

        public static byte[] RandomBytes(int size, int seed)
        {
            var bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        public void Dispose()
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }
}

/// <summary>
/// An origin whose every answer the test writes byte for byte, to produce what real servers do only sometimes (a chunked
/// reply, a close in mid-body, silence, cache headers). It records each request head it receives.
/// </summary>
internal sealed class ScriptedOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, int, Stream, Task> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    /// <param name="answer">Gets the request head (and body, when Content-Length says so), the request's number from 1, and the connection.</param>
    public ScriptedOrigin(Func<string, int, Stream, Task> answer)
    {
        _answer = answer;
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Always the same answer.</summary>
    public static ScriptedOrigin Answering(string response) =>
        new((_, _, stream) => stream.WriteAsync(Encoding.Latin1.GetBytes(response)).AsTask());

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    public IReadOnlyList<string> Requests
    {
        get { lock (_requests) return _requests.ToList(); }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var stream = client.GetStream();
                        var head = await ReadHeadAsync(stream);
                        int number;
                        lock (_requests)
                        {
                            _requests.Add(head);
                            number = _requests.Count;
                        }
                        await _answer(head, number, stream).WaitAsync(_stop.Token);
                        client.Client.Shutdown(SocketShutdown.Send);
                        await Task.Delay(50); // let the FIN go before the close
                    }
                    catch (Exception) { }
                }
            });
        }
    }

    private async Task<string> ReadHeadAsync(Stream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r'))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0) break;
            bytes.Add(one[0]);
        }
        var head = Encoding.Latin1.GetString(bytes.ToArray());
        var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (length is not null)
        {
            var body = new byte[int.Parse(length["Content-Length:".Length..].Trim())];
            await stream.ReadExactlyAsync(body, _stop.Token);
            head += Encoding.Latin1.GetString(body);
        }
        return head;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5));
    }
}

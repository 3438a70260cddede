using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Proxy;

/// <summary>
/// The lab's caching web proxy: clients send it absolute-form requests (<c>GET http://host/path HTTP/1.1</c>), it
/// answers from its <see cref="Cache"/> or fetches from the origin, stores what may be stored, and relays the answer.
/// <code>
/// await using var proxy = ProxyServer.Start(new ProxyServerOptions());
/// // curl -x http://127.0.0.1:{proxy.Port} http://example.org/
/// </code>
/// Each client connection is served on its own task, many at once, kept alive between requests; each request to an
/// origin uses a fresh connection. Nothing is written to the console: <see cref="LabServer{TLogEntry,TCounters}.Log"/>
/// has a line per request.
/// </summary>
public sealed class ProxyServer : LabServer<ProxyLogEntry, ProxyCounters>
{
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<long, (ProxyConnection? Connection, Socket Socket, Task Served)> _connections = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _acceptLoop;
    private readonly IReadOnlyList<IPAddress> _ownAddresses;
    private long _connectionIds, _requests, _hits, _misses, _revalidated, _tunnels, _refused, _originFailures, _bytesFromOrigins, _bytesToClients;
    private int _active;

    private ProxyServer(ProxyServerOptions options, ProxyCache cache, Socket listener)
        : base((IPEndPoint)listener.LocalEndPoint!, options.LogCapacity, options.DrainTimeout)
    {
        Options = options;
        Cache = cache;
        _listener = listener;
        // Via names this proxy uniquely, so a request that comes back through it is recognised as a loop.
        Pseudonym = $"netlabs-proxy-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        _ownAddresses = [.. Listener.LocalAddresses(), EndPoint.Address];
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Binds the port and starts serving.</summary>
    /// <exception cref="ServerStartException">A bad option, a cache folder that cannot be used, or the port cannot be bound.</exception>
    public static ProxyServer Start(ProxyServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CacheBytes < 0) throw new ServerStartException($"The cache size must be 0 or more bytes, not {options.CacheBytes}.");
        if (options.MaxObjectBytes < 0) throw new ServerStartException($"The largest object must be 0 or more bytes, not {options.MaxObjectBytes}.");
        if (options.MaxHeaderBytes < 256 || options.MaxRequestLineBytes < 64 || options.MaxHeaderCount < 1)
            throw new ServerStartException("Header limits must allow at least a 64-byte request line, a 256-byte head and one field.");
        if (options.MaxConnections < 1) throw new ServerStartException("MaxConnections must be at least 1.");
        ProxyCache cache;
        try
        {
            cache = new ProxyCache(options.CacheBytes, options.MaxObjectBytes, options.CacheDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ServerStartException($"The cache folder '{options.CacheDirectory}' cannot be used ({e.Message}): give a folder you can write to.", e);
        }
        return new ProxyServer(options, cache, Listener.BindTcp(options.Address, options.Port, "the proxy", ProxyServerOptions.LabPort));
    }

    public ProxyServerOptions Options { get; }
    public ProxyCache Cache { get; }

    /// <summary>The proxy as clients name it (<c>curl -x</c>, <c>http_proxy</c>): loopback when bound to every address.</summary>
    public Uri Url
    {
        get
        {
            var address = EndPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : EndPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : EndPoint.Address;
            return new Uri($"http://{new IPEndPoint(address, Port)}/");
        }
    }

    /// <summary>This proxy's name in <c>Via</c> fields.</summary>
    public string Pseudonym { get; }

    public override ProxyCounters Counters => new(Interlocked.Read(ref _connectionIds), Interlocked.Read(ref _requests), Interlocked.Read(ref _hits),
        Interlocked.Read(ref _misses), Interlocked.Read(ref _revalidated), Interlocked.Read(ref _tunnels), Interlocked.Read(ref _refused),
        Interlocked.Read(ref _originFailures), Interlocked.Read(ref _bytesFromOrigins), Interlocked.Read(ref _bytesToClients));

    /// <summary>The last <paramref name="count"/> log entries as a table.</summary>
    public HtmlTable LogTable(int count = 20) => ProxyLogEntry.Table(Log.TakeLast(count), $"Proxy {Url}: last {count} requests");

    /// <summary>Loopback always; other clients only when <see cref="ProxyServerOptions.Allow"/> lists them.</summary>
    public bool IsAllowed(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        if (IPAddress.IsLoopback(client)) return true;
        foreach (var network in Options.Allow)
            if (network.Contains(client)) return true;
        return false;
    }

    /// <summary>Whether host:port names this proxy itself (a request for it would loop).</summary>
    public bool IsSelf(string host, int port)
    {
        if (port != Port) return false;
        if (host == "localhost") return true;
        if (!IPAddress.TryParse(host, out var address)) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return IPAddress.IsLoopback(address) || _ownAddresses.Contains(address)
            || EndPoint.Address.Equals(IPAddress.Any) || EndPoint.Address.Equals(IPAddress.IPv6Any) && address.AddressFamily == AddressFamily.InterNetwork;
    }

    /// <summary>
    /// Reserves (or, negative, gives back) memory for copies of bodies on their way into the cache. All copies in flight
    /// together stay within the cache's size, so a hundred large misses at once cannot take a hundred times the object limit.
    /// </summary>
    internal bool ReserveCopyBytes(long bytes)
    {
        var total = Interlocked.Add(ref _copyBytes, bytes);
        if (bytes <= 0 || total <= Math.Max(Options.CacheBytes, Cache.MaxObjectBytes)) return true;
        Interlocked.Add(ref _copyBytes, -bytes);
        return false;
    }

    private long _copyBytes;

    internal void Completed(ProxyLogEntry entry, long bytesFromOrigin)
    {
        Interlocked.Increment(ref _requests);
        switch (entry.Cache)
        {
            case CacheResult.Hit: Interlocked.Increment(ref _hits); break;
            case CacheResult.Miss: Interlocked.Increment(ref _misses); break;
            case CacheResult.Revalidated: Interlocked.Increment(ref _revalidated); break;
        }
        if (entry.Method == "CONNECT" && entry.Status == 200) Interlocked.Increment(ref _tunnels);
        if (entry.Status is 403 or 508) Interlocked.Increment(ref _refused);
        if (entry.Status is 502 or 504 && entry.Cache == CacheResult.None) Interlocked.Increment(ref _originFailures);
        Interlocked.Add(ref _bytesFromOrigins, bytesFromOrigin);
        Interlocked.Add(ref _bytesToClients, entry.Bytes);
        if (IsLogging) Record(entry);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception) when (IsStopping)
            {
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false); // out of descriptors, say: breathe and go on
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var id = Interlocked.Increment(ref _connectionIds);
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var active = Interlocked.Increment(ref _active);
        ProxyConnection? connection = null;
        try
        {
            var remote = (IPEndPoint)client.RemoteEndPoint!;
            connection = Options.Handler is null ? new ProxyConnection(this, client, remote) : null;
            _connections[id] = (connection, client, served.Task);
            if (!IsAllowed(remote.Address))
                await ProxyConnection.RefuseAsync(this, client, remote, 403, "Forbidden",
                    $"This proxy does not serve {remote.Address}: start it with --allow for your network to let it.").ConfigureAwait(false);
            else if (active > Options.MaxConnections)
                await ProxyConnection.RefuseAsync(this, client, remote, 503, "Service Unavailable",
                    $"The proxy already serves {Options.MaxConnections} connections: try again in a moment.").ConfigureAwait(false);
            else if (!IsStopping)
            {
                if (connection is not null) await connection.ServeAsync(_closing.Token).ConfigureAwait(false);
                else await Options.Handler!(client, Cache, _closing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsDisconnection(e) || IsStopping)
        {
            // The client went away or the proxy is stopping: nothing to report.
        }
        catch (Exception)
        {
            // A student's handler that throws ends its own connection only.
        }
        finally
        {
            await CloseGracefullyAsync(client).ConfigureAwait(false);
            connection?.Dispose();
            _connections.TryRemove(id, out _);
            Interlocked.Decrement(ref _active);
            served.TrySetResult();
        }
    }

    /// <summary>
    /// Closes a client connection the polite way: FIN after everything written, then unread input read and dropped for
    /// a moment, so the kernel does not answer it with a reset that would destroy the client's last answer.
    /// </summary>
    private static async Task CloseGracefullyAsync(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            using var linger = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            var scratch = new byte[4096];
            for (var total = 0; total < 1 << 20;)
            {
                var read = await socket.ReceiveAsync(scratch, SocketFlags.None, linger.Token).ConfigureAwait(false);
                if (read == 0) break;
                total += read;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>Errors that only mean a peer closed or reset, or a wait was ended.</summary>
    internal static bool IsDisconnection(Exception e) => e switch
    {
        SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException => true,
        IOException { InnerException: SocketException or ObjectDisposedException } => true,
        _ => false,
    };

    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        _listener.Dispose();
        foreach (var (connection, socket, _) in _connections.Values)
            if (connection?.IsIdle == true) socket.Dispose(); // kept-alive connections waiting for a next request: close now
        if (!await AllServedWithinAsync(drain).ConfigureAwait(false))
        {
            await _closing.CancelAsync().ConfigureAwait(false);
            foreach (var (_, socket, _) in _connections.Values) socket.Dispose();
            await AllServedWithinAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); // a handler that ignores its closed socket is left behind
        }
        await Task.WhenAny(_acceptLoop, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
    }

    private async Task<bool> AllServedWithinAsync(TimeSpan timeout)
    {
        var served = Task.WhenAll(_connections.Values.Select(c => c.Served));
        return await Task.WhenAny(served, Task.Delay(timeout)).ConfigureAwait(false) == served;
    }

    public override string ToHtml() => new HtmlTable($"Caching proxy on {Url}", ["what", "value"],
    [
        ["listening on", EndPoint.ToString()],
        ["allowed clients", Options.Allow.Count == 0 ? "this machine only" : "this machine, " + string.Join(", ", Options.Allow)],
        ["state", State.ToString()],
        ["requests", Counters.Requests.ToString(CultureInfo.InvariantCulture)],
        ["hits / revalidated / misses", $"{Counters.Hits} / {Counters.Revalidated} / {Counters.Misses} (hit ratio {Counters.HitRatio:P0})"],
        ["cache", Cache.ToString()],
    ]).ToHtml();

    public override string ToString() => $"Caching proxy on {Url} ({State}), {Cache}";
}

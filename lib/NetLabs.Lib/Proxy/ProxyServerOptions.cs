using System.Net;

namespace NetLabs.Proxy;

/// <summary>
/// Everything a <see cref="ProxyServer"/> is started with; every default is safe: loopback only, bounded cache, bounded
/// heads, bounded waits.
/// </summary>
public sealed record ProxyServerOptions
{
    /// <summary>The port the lab uses (the textbook leaves it open; 8888 is the classroom habit).</summary>
    public const int LabPort = 8888;

    /// <summary>Address to listen on: loopback (this machine only) unless another is asked for.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 lets the system pick a free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Clients allowed besides this machine (addresses or CIDR ranges such as 10.0.0.0/24). Others get 403: a proxy
    /// open to everybody is soon used by everybody.
    /// </summary>
    public IReadOnlyList<IPNetwork> Allow { get; init; } = [];

    /// <summary>Bytes the cache may hold in memory (and, with <see cref="CacheDirectory"/>, on disk). 0 turns caching off.</summary>
    public long CacheBytes { get; init; } = 64L << 20;

    /// <summary>Largest object kept; larger ones are streamed through and never held whole in memory.</summary>
    public long MaxObjectBytes { get; init; } = 8L << 20;

    /// <summary>A folder that keeps cached objects across restarts; null: memory only.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Longest request line, in bytes: beyond it, 414 URI Too Long.</summary>
    public int MaxRequestLineBytes { get; init; } = 8 * 1024;

    /// <summary>Longest head (request line and fields, or an origin's response head), in bytes: beyond it, 431 (or 502).</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;

    /// <summary>Most header fields in a head: beyond it, 431.</summary>
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>Most time a client has for a complete request head (from its connection for the first one).</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a kept-alive client connection may wait for its next request.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Most time to resolve the origin's name and connect to it: beyond it, 504.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most time the origin may take to start its answer: beyond it, 504 Gateway Timeout.</summary>
    public TimeSpan OriginTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most time a transfer (either side, or a tunnel) may make no progress before it is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A delay added before every request to an origin, to make an origin on this machine look far away in
    /// experiments (a cache hit does not pay it). Zero in real use.
    /// </summary>
    public TimeSpan OriginDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Ports CONNECT may tunnel to (443 by default, as in Squid: a tunnel to any port is an open relay).</summary>
    public IReadOnlyList<int> ConnectPorts { get; init; } = [443];

    /// <summary>Client connections served at once; beyond, new ones get 503 and are closed.</summary>
    public int MaxConnections { get; init; } = 1_000;

    /// <summary>How many recent requests the proxy's log keeps (0: none).</summary>
    public int LogCapacity { get; init; } = 1000;

    /// <summary>How long stopping lets requests in flight finish before their connections are closed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// What serves one client connection; null: the library's own. The student's
    /// version of the textbook's proxy takes its place here.
    /// </summary>
    public ProxyClientHandler? Handler { get; init; }
}

/// <summary>
/// Serves one accepted client connection of a proxy, at the socket level of the textbook's skeleton: read the request,
/// look in <paramref name="cache"/>, fetch from the origin on a miss, store, reply. The server closes the socket after.
/// </summary>
public delegate Task ProxyClientHandler(System.Net.Sockets.Socket client, ProxyCache cache, CancellationToken cancellationToken);

using System.Net;

namespace NetLabs.Web;

/// <summary>How the server takes its clients.</summary>
public enum WebServerMode
{
    /// <summary>
    /// The lab's main exercise: accept one connection, answer it, close it, accept the next. Every request
    /// gets "Connection: close" (a kept-open connection would block every other client).
    /// </summary>
    Sequential,

    /// <summary>The optional exercise: each connection is served on its own, many at once, with keep-alive.</summary>
    Concurrent,
}

/// <summary>
/// What the server does with one accepted connection: read requests from it and answer them. The server
/// calls it once per connection, then closes the connection; it may throw when the client goes away.
/// <see cref="StaticFileHandler.HandleConnectionAsync"/> is the built-in one; a student's version can take
/// its place (<see cref="WebServerOptions.Handler"/>).
/// </summary>
public delegate Task ConnectionHandler(WebConnection connection);

/// <summary>Everything a <see cref="WebServer"/> is started with. Only <see cref="Root"/> is required.</summary>
public sealed record WebServerOptions
{
    /// <summary>The folder whose files are served. Nothing outside it ever is.</summary>
    public required string Root { get; init; }

    /// <summary>Address to listen on: loopback (this machine only) unless another is asked for, e.g.
    /// <see cref="IPAddress.Any"/> to be reachable from other machines.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 lets the system pick a free one (see <see cref="WebServer.Port"/>).</summary>
    public int Port { get; init; }

    public WebServerMode Mode { get; init; } = WebServerMode.Concurrent;

    /// <summary>Most time a client has to send a complete request head, from its first byte
    /// (from the connection's start for the first request). Slow or silent clients are then closed.</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a kept-alive connection may wait for its next request.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most time a response may make no progress (a client that stops reading).</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long stopping waits for requests in flight before it closes their connections.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Request size limits (414, 431, 413).</summary>
    public HttpLimits Limits { get; init; } = HttpLimits.Default;

    /// <summary>Connections served at once; beyond, new ones get 503 and are closed.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>How many recent requests <see cref="WebServer.AccessLog"/> keeps (0: none).</summary>
    public int AccessLogCapacity { get; init; } = 1000;

    /// <summary>How long a looked-up file (path, size, date, and its bytes when small) is reused before the
    /// disk is checked again. <see cref="TimeSpan.Zero"/> looks every file up on every request.</summary>
    public TimeSpan FileCacheDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Files up to this size are kept in memory; larger ones are streamed from disk each time.</summary>
    public int FileCacheMaxFileBytes { get; init; } = 256 * 1024;

    /// <summary>What serves one connection; null: the built-in <see cref="StaticFileHandler"/>.</summary>
    public ConnectionHandler? Handler { get; init; }

    /// <summary>Where unexpected internal errors are reported (a bug, not a client's fault); null: nowhere.
    /// The server never writes to the console by itself.</summary>
    public Action<string>? Diagnostics { get; init; }
}

/// <summary>Starting failed in a way the user can fix (port in use, missing root, …); the message says how.</summary>
public sealed class WebServerException(string message, Exception? inner = null) : Exception(message, inner);

using System.Net;
using NetLabs.Hosting;

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
    /// <summary>The port of the textbook's lab (<c>netlabs web serve</c> listens there).</summary>
    public const int LabPort = 6789;

    /// <summary>The folder whose files are served. Nothing outside it ever is.</summary>
    public required string Root { get; init; }

    /// <summary>Address to listen on: loopback (this machine only) unless another is asked for, e.g.
    /// <see cref="IPAddress.Any"/> to be reachable from other machines.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 lets the system pick a free one (see <see cref="LabServer{TLogEntry, TCounters}.Port"/>).</summary>
    public int Port { get; init; }

    public WebServerMode Mode { get; init; } = WebServerMode.Concurrent;

    /// <summary>Most time a client has to send a complete request head, from its first byte
    /// (from the connection's start for the first request). Slow or silent clients are then closed.</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sequential mode only: the longest silence before a request's first byte and between its bytes. The sequential
    /// server serves one client at a time, so a silent client (a browser's spare connection, a forgotten telnet) holds
    /// everyone else up for this long; a client that keeps sending, however slowly, still has <see cref="HeaderTimeout"/>.
    /// Silence is what the client did not send: bytes that arrived and wait for a busy server to read them count as sent.
    /// </summary>
    public TimeSpan SequentialIdleTimeout { get; init; } = TimeSpan.FromSeconds(1);

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

    /// <summary>How many recent requests <see cref="LabServer{TLogEntry, TCounters}.Log"/> keeps (0: none).</summary>
    public int LogCapacity { get; init; } = 1000;

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

    /// <summary>Throws <see cref="ServerStartException"/> naming the first setting that cannot work.</summary>
    internal void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ServerStartException(message);
        }
        Require(!string.IsNullOrWhiteSpace(Root), "Root must name the folder to serve.");
        Require(Enum.IsDefined(Mode), $"Mode {Mode} is neither Sequential nor Concurrent.");
        Require(HeaderTimeout > TimeSpan.Zero, "HeaderTimeout must be longer than zero.");
        Require(SequentialIdleTimeout > TimeSpan.Zero, "SequentialIdleTimeout must be longer than zero.");
        Require(KeepAliveTimeout > TimeSpan.Zero, "KeepAliveTimeout must be longer than zero.");
        Require(SendTimeout > TimeSpan.Zero, "SendTimeout must be longer than zero.");
        Require(ShutdownTimeout >= TimeSpan.Zero, "ShutdownTimeout cannot be negative.");
        Require(MaxConnections >= 1, "MaxConnections must be at least 1.");
        Require(LogCapacity >= 0, "LogCapacity cannot be negative (0 keeps no log entries).");
        Require(FileCacheDuration >= TimeSpan.Zero, "FileCacheDuration cannot be negative (zero looks every file up on every request).");
        Require(FileCacheMaxFileBytes >= 0, "FileCacheMaxFileBytes cannot be negative.");
        Require(Limits.MaxRequestLineBytes >= 64 && Limits.MaxHeaderBytes >= Limits.MaxRequestLineBytes && Limits.MaxHeaderCount >= 1 && Limits.MaxBodyBytes >= 0,
            "Limits cannot work: MaxRequestLineBytes at least 64, MaxHeaderBytes at least MaxRequestLineBytes, MaxHeaderCount at least 1, MaxBodyBytes not negative.");
    }
}

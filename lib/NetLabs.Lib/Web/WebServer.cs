using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using NetLabs.Display;

namespace NetLabs.Web;

/// <summary>Counters of a running server.</summary>
public sealed record WebServerStatistics(long ConnectionsAccepted, int ActiveConnections, long Requests, long TimedOut, long HandlerFailures);

/// <summary>
/// The lab's web server: listens on a TCP port and serves the files of one folder over HTTP/1.1.
/// <code>
/// await using var server = WebServer.Start(new WebServerOptions { Root = "data/www", Mode = WebServerMode.Sequential });
/// Console.WriteLine(server.Url);  // http://127.0.0.1:41234/
/// </code>
/// The listening socket is bound and listening when <see cref="Start"/> returns; clients are accepted on a
/// background task until <see cref="StopAsync"/> (or disposal). Each accepted connection is handed to the
/// <see cref="ConnectionHandler"/> (by default <see cref="StaticFileHandler"/>), one after the other in
/// <see cref="WebServerMode.Sequential"/> mode, all at once in <see cref="WebServerMode.Concurrent"/> mode.
/// Nothing is ever written to the console; what happened is in <see cref="AccessLog"/>.
/// </summary>
public sealed class WebServer : IAsyncDisposable, IHtmlDisplay
{
    private readonly Socket _listener;
    private readonly ConnectionHandler _handler;
    private readonly ConcurrentDictionary<long, (WebConnection Connection, Task Served)> _connections = new();
    private readonly AccessLogRing _accessLog;
    private readonly Timer _heartbeat;
    private readonly Task _acceptLoop;
    private readonly object _stopLock = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _stopTask;
    private long _connectionIds, _requests, _timedOut, _handlerFailures;
    private int _active;
    private volatile bool _isStopping;

    private WebServer(WebServerOptions options, string realRoot, Socket listener)
    {
        Options = options;
        RealRoot = realRoot;
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _accessLog = new AccessLogRing(options.AccessLogCapacity);
        _handler = options.Handler ?? new StaticFileHandler(options, realRoot).HandleConnectionAsync;
        // Timeouts: four times a second, close every connection whose deadline has passed.
        _heartbeat = new Timer(_ => CloseExpiredConnections(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Binds the port, starts listening and accepting in the background, and returns the running server.</summary>
    /// <exception cref="WebServerException">The root folder is missing, or the address or port cannot be used.</exception>
    public static WebServer Start(WebServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var realRoot = RequestPath.RealPath(options.Root);
        if (realRoot is null || !Directory.Exists(realRoot))
            throw new WebServerException($"The folder to serve, '{Path.GetFullPath(options.Root)}', does not exist.");
        return new WebServer(options, realRoot, Listen(options.BindAddress, options.Port));
    }

    public WebServerOptions Options { get; }
    /// <summary>The served folder as a real path (links resolved).</summary>
    public string RealRoot { get; }
    /// <summary>The address and port actually listened on (the chosen port when 0 was asked for).</summary>
    public IPEndPoint EndPoint { get; }
    public int Port => EndPoint.Port;
    public WebServerMode Mode => Options.Mode;

    /// <summary>The URL to open on this machine: the bound address, or loopback when bound to all addresses.</summary>
    public Uri Url
    {
        get
        {
            var address = EndPoint.Address;
            if (address.Equals(IPAddress.Any)) address = IPAddress.Loopback;
            else if (address.Equals(IPAddress.IPv6Any)) address = IPAddress.IPv6Loopback;
            return new Uri($"http://{new IPEndPoint(address, Port)}/");
        }
    }

    /// <summary>Completes when the server has stopped (after <see cref="StopAsync"/>).</summary>
    public Task Completion => _stopped.Task;
    public bool IsStopping => _isStopping;

    /// <summary>The most recent requests (up to <see cref="WebServerOptions.AccessLogCapacity"/>), oldest first.</summary>
    public IReadOnlyList<AccessLogEntry> AccessLog => _accessLog.Snapshot();

    /// <summary>Raised for every access-log entry, on the connection's thread: keep the handler quick.</summary>
    public event Action<AccessLogEntry>? RequestLogged;

    public WebServerStatistics Statistics => new(Interlocked.Read(ref _connectionIds), Volatile.Read(ref _active),
        Interlocked.Read(ref _requests), Interlocked.Read(ref _timedOut), Interlocked.Read(ref _handlerFailures));

    /// <summary>The last <paramref name="count"/> access-log entries as a table.</summary>
    public HtmlTable AccessLogTable(int count = 20) =>
        AccessLogEntry.Table(AccessLog.TakeLast(count), $"Access log of {Url} ({Mode}), last {count}");

    public void ClearAccessLog() => _accessLog.Clear();

    /// <summary>
    /// Stops accepting, closes idle kept-alive connections, lets requests in flight finish for up to
    /// <see cref="WebServerOptions.ShutdownTimeout"/> (or <paramref name="timeout"/>), then closes what remains.
    /// Calling it again returns the same task.
    /// </summary>
    public Task StopAsync(TimeSpan? timeout = null)
    {
        lock (_stopLock)
            return _stopTask ??= StopCoreAsync(timeout ?? Options.ShutdownTimeout);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Addresses of this machine that other machines may reach it on (IPv4, up, not loopback).</summary>
    public static IReadOnlyList<IPAddress> LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToList();

    public string ToHtml() => new HtmlTable($"Web server ({Mode})", ["what", "value"],
    [
        ["URL", Url.ToString()],
        ["listening on", EndPoint.ToString()],
        ["root", RealRoot],
        ["state", IsStopping ? (Completion.IsCompleted ? "stopped" : "stopping") : "running"],
        ["connections (active / accepted)", $"{Statistics.ActiveConnections} / {Statistics.ConnectionsAccepted}"],
        ["requests", Statistics.Requests.ToString(CultureInfo.InvariantCulture)],
    ]).ToHtml();

    public override string ToString() => $"WebServer {Mode} on {Url} serving {RealRoot}";

    internal void Log(AccessLogEntry entry)
    {
        Interlocked.Increment(ref _requests);
        _accessLog.Add(entry);
        RequestLogged?.Invoke(entry);
    }

    private static Socket Listen(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            // Responses go out in one write each: no Nagle delay. On Linux accepted sockets inherit this.
            socket.NoDelay = true;
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            var where = new IPEndPoint(address, port);
            throw e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new WebServerException(
                    $"Port {port} on {address} is already in use: another server (or an earlier run of this one that was not stopped) holds it. Stop that one, pick another port, or use port 0 for a free one.", e),
                SocketError.AccessDenied => new WebServerException(
                    $"Not allowed to listen on {where}: ports below 1024 need administrator rights. Use a port above 1024 (the lab uses 6789).", e),
                SocketError.AddressNotAvailable => new WebServerException(
                    $"{address} is not an address of this machine. Use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of: {string.Join(", ", LocalAddresses())}.", e),
                _ => new WebServerException($"Cannot listen on {where}: {e.Message}", e),
            };
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync().ConfigureAwait(false); // stopping disposes the listener, which ends this
            }
            catch (Exception) when (IsStopping)
            {
                return;
            }
            catch (SocketException e)
            {
                // E.g. out of file descriptors: say so, breathe, keep serving.
                Options.Diagnostics?.Invoke($"accept failed: {e.SocketErrorCode} {e.Message}");
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }

            if (Options.Mode == WebServerMode.Sequential)
                await ServeAsync(client).ConfigureAwait(false); // serve this client completely; the next waits in the listen queue
            else
                _ = ServeAsync(client);                         // start serving it, and go back to accept at once
        }
    }

    /// <summary>Serves one connection from start to close. Never throws: a client that goes away is normal.</summary>
    private async Task ServeAsync(Socket client)
    {
        var id = Interlocked.Increment(ref _connectionIds);
        WebConnection connection;
        try
        {
            if (!OperatingSystem.IsLinux()) client.NoDelay = true;
            connection = new WebConnection(this, id, client);
            if (Options.AccessLogCapacity > 0) _ = connection.Client; // ask for the address now, while the client is surely there
        }
        catch (Exception)
        {
            client.Dispose(); // the client was already gone
            return;
        }
        var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connections[id] = (connection, served.Task);
        var active = Interlocked.Increment(ref _active);
        try
        {
            if (active > Options.MaxConnections)
                await StaticFileHandler.RefuseBusyAsync(connection).ConfigureAwait(false);
            else if (!IsStopping)
                await _handler(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (IsDisconnection(e) || connection.TimedOut || IsStopping)
        {
            // The client went away, was too slow, or the server is stopping: nothing to report.
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _handlerFailures);
            Options.Diagnostics?.Invoke($"connection #{id} from {connection.Client}: {e}");
        }
        finally
        {
            if (connection.TimedOut) Interlocked.Increment(ref _timedOut);
            connection.Abort();
            _connections.TryRemove(id, out _);
            Interlocked.Decrement(ref _active);
            served.SetResult();
        }
    }

    /// <summary>Errors that only mean the other side closed or reset the connection.</summary>
    internal static bool IsDisconnection(Exception e) => e switch
    {
        SocketException => true,
        ObjectDisposedException => true,
        OperationCanceledException => true,
        IOException { InnerException: SocketException } => true,
        _ => false,
    };

    private void CloseExpiredConnections()
    {
        try
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var (_, (connection, _)) in _connections) // enumerating takes no lock
                if (connection.IsPastDeadline(now)) connection.TimeOut();
        }
        catch (Exception e)
        {
            Options.Diagnostics?.Invoke($"timeout check failed: {e}");
        }
    }

    private async Task<bool> AllServedWithinAsync(TimeSpan timeout)
    {
        var served = Task.WhenAll(_connections.Values.Select(c => c.Served));
        return await Task.WhenAny(served, Task.Delay(timeout)).ConfigureAwait(false) == served;
    }

    private async Task StopCoreAsync(TimeSpan timeout)
    {
        _isStopping = true;
        Interlocked.MemoryBarrier(); // pairs with WebConnection.Idle: a connection turning idle now sees the stop
        _listener.Dispose();

        foreach (var (connection, _) in _connections.Values)
            if (connection.Idle) connection.Abort();
        if (!await AllServedWithinAsync(timeout).ConfigureAwait(false))
        {
            foreach (var (connection, _) in _connections.Values) connection.Abort();
            // A handler that ignores its closed socket (a student's endless loop) is left behind, not waited for.
            if (!await AllServedWithinAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
                Options.Diagnostics?.Invoke($"stopped with {_connections.Count} handler(s) still running after their connections were closed");
        }
        await Task.WhenAny(_acceptLoop, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        _stopped.TrySetResult();
    }
}

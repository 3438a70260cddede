using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Web;

/// <summary>Running totals of a <see cref="WebServer"/>: everything, whereas its log keeps only the latest requests.</summary>
public sealed record WebServerCounters(long ConnectionsAccepted, int ActiveConnections, long Requests, long TimedOut, long HandlerFailures);

/// <summary>
/// The lab's web server: listens on a TCP port and serves the files of one folder over HTTP/1.1.
/// <code>
/// await using var server = WebServer.Start(new WebServerOptions { Root = "data/www", Mode = WebServerMode.Sequential });
/// Console.WriteLine(server.Url);  // http://127.0.0.1:41234/
/// </code>
/// The listening socket is bound and listening when <see cref="Start"/> returns; clients are accepted on a
/// background task until <see cref="LabServer{TLogEntry, TCounters}.StopAsync"/> (or disposal). Each accepted
/// connection is handed to the <see cref="ConnectionHandler"/> (by default <see cref="StaticFileHandler"/>), one after
/// the other in <see cref="WebServerMode.Sequential"/> mode, all at once in <see cref="WebServerMode.Concurrent"/> mode.
/// Nothing is ever written to the console; what happened is in the log (<see cref="LabServer{TLogEntry, TCounters}.Log"/>).
/// </summary>
public sealed class WebServer : LabServer<AccessLogEntry, WebServerCounters>
{
    private readonly Socket _listener;
    private readonly ConnectionHandler _handler;
    private readonly ConcurrentDictionary<long, (WebConnection Connection, Task Served)> _connections = new();
    private readonly Timer _heartbeat;
    private readonly Task _acceptLoop;
    private long _connectionIds, _requests, _timedOut, _handlerFailures;
    private int _active;

    private WebServer(WebServerOptions options, string realRoot, Socket listener)
        : base((IPEndPoint)listener.LocalEndPoint!, options.LogCapacity, options.ShutdownTimeout)
    {
        Options = options;
        RealRoot = realRoot;
        _listener = listener;
        _handler = options.Handler ?? new StaticFileHandler(options, realRoot).HandleConnectionAsync;
        // Timeouts: four times a second, close every connection whose deadline has passed.
        _heartbeat = new Timer(_ => CloseExpiredConnections(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Binds the port, starts listening and accepting in the background, and returns the running server.</summary>
    /// <exception cref="ServerStartException">A setting cannot work, the root folder is missing, or the address or port cannot be used.</exception>
    public static WebServer Start(WebServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var realRoot = RequestPath.RealPath(options.Root);
        if (realRoot is null || !Directory.Exists(realRoot))
            throw new ServerStartException($"The folder to serve, '{Path.GetFullPath(options.Root)}', does not exist.");
        return new WebServer(options, realRoot, Listener.BindTcp(options.Address, options.Port, "the web server", WebServerOptions.LabPort));
    }

    public WebServerOptions Options { get; }
    /// <summary>The served folder as a real path (links resolved).</summary>
    public string RealRoot { get; }
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

    public override WebServerCounters Counters => new(Interlocked.Read(ref _connectionIds), Volatile.Read(ref _active),
        Interlocked.Read(ref _requests), Interlocked.Read(ref _timedOut), Interlocked.Read(ref _handlerFailures));

    /// <summary>The last <paramref name="last"/> log entries as a table.</summary>
    public HtmlTable LogTable(int last = 20) =>
        AccessLogEntry.Table(Log.TakeLast(last), $"Access log of {Url} ({Mode}), last {last}");

    public override string ToHtml()
    {
        var counters = Counters;
        return new HtmlTable($"Web server ({Mode})", ["what", "value"],
        [
            ["URL", Url.ToString()],
            ["listening on", EndPoint.ToString()],
            ["root", RealRoot],
            ["state", State.ToString().ToLowerInvariant()],
            ["connections (active / accepted)", $"{counters.ActiveConnections} / {counters.ConnectionsAccepted}"],
            ["requests", counters.Requests.ToString(CultureInfo.InvariantCulture)],
        ]).ToHtml();
    }

    public override string ToString() => $"WebServer {Mode} on {Url} serving {RealRoot}";

    /// <summary>Counts a request and records its log entry (<see cref="WebConnection.Log"/> calls it).</summary>
    /// <remarks>Without a log to keep or a watcher, no entry is made: the clock read, the client's address as text and
    /// the entry itself are work per request that nobody would see.</remarks>
    internal void Write(WebConnection connection, string method, string target, int status, long bytes, TimeSpan duration, string? note)
    {
        Interlocked.Increment(ref _requests);
        if (IsLogging)
            Record(new AccessLogEntry(connection.Id, DateTimeOffset.UtcNow, connection.Client, method, target, status, bytes, duration, note));
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
            if (IsLogging) _ = connection.Client; // ask for the address now, while the client is surely there
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
            connection.Close();
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
            var now = Environment.TickCount64;
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

    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        Interlocked.MemoryBarrier(); // pairs with WebConnection.Idle: a connection turning idle now sees the stop
        _listener.Dispose();

        foreach (var (connection, _) in _connections.Values)
            if (connection.Idle) connection.Close();
        if (!await AllServedWithinAsync(drain).ConfigureAwait(false))
        {
            foreach (var (connection, _) in _connections.Values) connection.Abort();
            // A handler that ignores its closed socket (a student's endless loop) is left behind, not waited for.
            if (!await AllServedWithinAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
                Options.Diagnostics?.Invoke($"stopped with {_connections.Count} handler(s) still running after their connections were closed");
        }
        await Task.WhenAny(_acceptLoop, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
    }
}

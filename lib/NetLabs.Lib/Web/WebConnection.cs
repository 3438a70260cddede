using System.Net;
using System.Net.Sockets;

namespace NetLabs.Web;

/// <summary>
/// One accepted client connection, as a <see cref="ConnectionHandler"/> gets it: the socket, who is on the
/// other end, the server's settings, a way to write the access log, and the connection's deadline.
/// </summary>
public sealed class WebConnection
{
    private readonly WebServer _server;
    private NetworkStream? _stream;
    // Deadlines are on the coarse millisecond clock (Environment.TickCount64): a handler sets one several times per
    // request, the server looks at them four times a second, and the fine clock costs a request 2 % of its time.
    private long _deadline; // Environment.TickCount64 after which the server closes the connection
    private long _silenceDeadline = long.MaxValue; // after which it closes it if the client has sent nothing more
    private int _closed;
    private IPEndPoint? _remote;
    private string? _client;

    internal WebConnection(WebServer server, long id, Socket socket)
    {
        _server = server;
        Id = id;
        Socket = socket;
        SetTimeout(server.Options.HeaderTimeout);
    }

    /// <summary>Numbers connections 1, 2, 3… in the order the server accepted them.</summary>
    public long Id { get; }
    /// <summary>The connected socket, to read requests from and write responses to.</summary>
    public Socket Socket { get; }
    /// <summary>The socket as a Stream, for code that prefers streams (made on first use).</summary>
    public NetworkStream Stream => _stream ??= new NetworkStream(Socket, ownsSocket: false);
    /// <summary>The client's address and port (asked of the socket on first use).</summary>
    public IPEndPoint? RemoteEndPoint => _remote ??= RemoteOf(Socket);
    /// <summary>"address:port" of the client.</summary>
    public string Client => _client ??= RemoteEndPoint?.ToString() ?? "?";
    public WebServerOptions Options => _server.Options;
    /// <summary>The root folder as a real path (symbolic links resolved).</summary>
    public string RealRoot => _server.RealRoot;
    /// <summary>The server is stopping: answer the request in hand with "Connection: close", take no other.</summary>
    public bool IsStopping => _server.IsStopping;

    /// <summary>
    /// True while the handler waits for the next request on a kept-alive connection: stopping the server
    /// closes such a connection at once instead of waiting for it.
    /// </summary>
    public bool Idle
    {
        get => _idle;
        set
        {
            _idle = value;
            if (!value) return;
            // Stop sets IsStopping, then closes the connections it finds idle. One that becomes idle just after that
            // scan closes itself here; the full fence makes sure at least one of the two sides sees the other.
            Interlocked.MemoryBarrier();
            if (_server.IsStopping) Close();
        }
    }

    private volatile bool _idle;

    /// <summary>True once the server closed this connection because its deadline passed.</summary>
    public bool TimedOut
    {
        get => _timedOut;
        private set => _timedOut = value;
    }

    private volatile bool _timedOut;

    /// <summary>
    /// From now, the server closes the connection if the handler has not set a new timeout within
    /// <paramref name="timeout"/> (the pending read or write then fails).
    /// </summary>
    public void SetTimeout(TimeSpan timeout)
    {
        Volatile.Write(ref _silenceDeadline, long.MaxValue);
        Volatile.Write(ref _deadline, After(timeout));
    }

    /// <summary>
    /// As <see cref="SetTimeout(TimeSpan)"/>, and also closes the connection after <paramref name="silence"/> unless the
    /// client has sent more by then. Silence is what the kernel holds, not what the handler has read: on a busy machine
    /// the handler may not have run yet, and its own lateness is no fault of the client's.
    /// </summary>
    public void SetTimeout(TimeSpan timeout, TimeSpan silence)
    {
        Volatile.Write(ref _silenceDeadline, After(silence));
        Volatile.Write(ref _deadline, After(timeout));
    }

    private static long After(TimeSpan time) => Environment.TickCount64 + (long)time.TotalMilliseconds;

    /// <summary>Adds an entry to the server's access log (counted always; built only when somebody keeps or watches the log).</summary>
    public void Log(string method, string target, int status, long bytes, TimeSpan duration, string? note = null) =>
        _server.Write(this, method, target, status, bytes, duration, note);

    private static IPEndPoint? RemoteOf(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint as IPEndPoint;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null; // already gone
        }
    }

    /// <param name="now">Environment.TickCount64.</param>
    internal bool IsPastDeadline(long now) =>
        now > Volatile.Read(ref _deadline) || (now > Volatile.Read(ref _silenceDeadline) && !BytesWaiting());

    private bool BytesWaiting()
    {
        try
        {
            return Socket.Available > 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false; // gone: nothing will be read
        }
    }

    /// <summary>How long a timed-out handler has to finish (send a 408, close) before its socket is aborted.</summary>
    private static readonly TimeSpan TimedOutGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The deadline passed. First time: the pending read ends as if the client had closed (end of stream, nothing is sent
    /// to the client), so the handler can still answer (408) and close gracefully. Disposing a socket with a read pending
    /// would make .NET close it with a reset, and a client that reads until the close would lose the answer it was
    /// already sent. If the handler is still not done after a short grace (a write that makes no progress), the socket
    /// is aborted.
    /// </summary>
    internal void TimeOut()
    {
        if (TimedOut)
        {
            Abort();
            return;
        }
        TimedOut = true;
        SetTimeout(TimedOutGrace);
        try
        {
            Socket.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort(); // already gone
        }
    }

    /// <summary>
    /// Closes gracefully: what was written is delivered, then FIN (never a reset, also when a read is pending), then the
    /// socket is released.
    /// </summary>
    internal void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the client already reset the connection
        }
        Socket.Dispose();
    }

    /// <summary>Closes the socket at once, for an answer that cannot be completed; a pending read or write fails.</summary>
    internal void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
            Socket.Dispose();
    }
}

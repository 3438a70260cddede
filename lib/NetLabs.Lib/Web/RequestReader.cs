using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace NetLabs.Web;

/// <summary>How waiting for a request head ended.</summary>
internal enum HeadWait
{
    /// <summary>A complete head is in <see cref="RequestReader.Head"/>.</summary>
    Complete,
    /// <summary>The client closed the connection (between requests: the normal end of a connection).</summary>
    ClientClosed,
    /// <summary>The client was silent or slow for too long; the connection's read side is already shut.</summary>
    TimedOut,
    /// <summary>What arrived cannot become an acceptable request: answer <see cref="RequestReader.Refusal"/> and close.</summary>
    Refused,
}

/// <summary>
/// The receiving side of one connection, for <see cref="StaticFileHandler"/>. Requests arrive in pieces, or several
/// at once (pipelined); the reader keeps what was received and not yet handled, finds where each request's head and
/// body end, and sets the connection's deadline while it waits:
/// <list type="bullet">
/// <item>before a request's first byte: <see cref="WebServerOptions.HeaderTimeout"/> on a new connection,
/// <see cref="WebServerOptions.KeepAliveTimeout"/> between requests;</item>
/// <item>from the first byte: the whole head within <see cref="WebServerOptions.HeaderTimeout"/>;</item>
/// <item>in sequential mode, where everyone waits for this client, also never more than
/// <see cref="WebServerOptions.SequentialIdleTimeout"/> of silence.</item>
/// </list>
/// </summary>
internal sealed class RequestReader(WebConnection connection) : IDisposable
{
    private readonly WebServerOptions _options = connection.Options;
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(connection.Options.Limits.MaxHeaderBytes);
    private int _filled;     // bytes of _buffer received and not yet handled
    private int _consumed;   // of those, the bytes of the current request (its head, and the body bytes that came with it)
    private int _headLength; // the current request's head, at the start of _buffer
    private long _started;   // when the current request's first byte arrived (Stopwatch timestamp; 0: none yet)
    private bool _betweenRequests; // a request was answered on this connection already (keep-alive)

    /// <summary>The current request's head, once <see cref="ReadHeadAsync"/> returned <see cref="HeadWait.Complete"/>.</summary>
    public ReadOnlySpan<byte> Head => _buffer.AsSpan(0, _headLength);

    /// <summary>Why the request was refused, after <see cref="HeadWait.Refused"/>.</summary>
    public HttpError Refusal { get; private set; }

    /// <summary>Bytes of a request have arrived (the connection is not between requests).</summary>
    public bool InRequest => _filled > 0;

    /// <summary>Bytes received beyond the current request (a pipelined next one, or junk): closing now would reset.</summary>
    public bool HasUnread => _filled > _consumed;

    /// <summary>Time since the current request's first byte.</summary>
    public TimeSpan Elapsed => _started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_started);

    /// <summary>Waits until a complete request head has arrived, or says why none will.</summary>
    // Pooled: a kept-alive connection waits here once per request, and each wait would otherwise allocate its state.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<HeadWait> ReadHeadAsync()
    {
        SkipLeadingLineEnds();
        if (_filled == 0) WaitForFirstByte();
        else RequestStarted();
        while (true)
        {
            if ((_headLength = HttpRequest.FindHeadEnd(_buffer.AsSpan(0, _filled))) >= 0)
            {
                _consumed = _headLength;
                return HeadWait.Complete;
            }
            if (HeadTooLarge() is { } tooLarge) return Refuse(tooLarge.Status, tooLarge.Reason);
            // Refuse at once what cannot be HTTP (a TLS handshake on the plain port, a binary protocol): every request
            // starts with a method, made of token characters. Waiting for a head that never comes would hold a
            // sequential server up for everyone.
            if (_filled > 0 && _buffer[0] != '\r' && !HttpFields.IsTokenChar(_buffer[0])) return Refuse(400, NotHttp(_buffer[0]));

            var received = await connection.Socket.ReceiveAsync(_buffer.AsMemory(_filled, _options.Limits.MaxHeaderBytes - _filled), SocketFlags.None).ConfigureAwait(false);
            if (received == 0) return connection.TimedOut ? HeadWait.TimedOut : HeadWait.ClientClosed;
            if (_filled == 0) RequestStarted();
            _filled += received;
            SkipLeadingLineEnds();
            ExtendForSequentialClient();
        }
    }

    /// <summary>
    /// Reads and drops the request's body (GET and HEAD need none, but its bytes must not be taken for the next
    /// request). A client that asked "Expect: 100-continue" is told to go on first, at once. False: the client went away.
    /// </summary>
    public async Task<bool> SkipBodyAsync(HttpRequest request)
    {
        var alreadyHere = (int)Math.Min(request.ContentLength, _filled - _headLength);
        _consumed = _headLength + alreadyHere;
        var left = request.ContentLength - alreadyHere;
        if (left > 0 && request.ExpectsContinue)
            await connection.Socket.SendAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
        while (left > 0)
        {
            // The unhandled bytes are all this request's: the buffer is free for the rest of its body.
            var received = await connection.Socket.ReceiveAsync(_buffer.AsMemory(0, (int)Math.Min(left, _buffer.Length)), SocketFlags.None).ConfigureAwait(false);
            if (received == 0) return false;
            left -= received;
            _consumed = _filled = 0;
            ExtendForSequentialClient();
        }
        return true;
    }

    /// <summary>The current request is answered: what came after it becomes the start of the next.</summary>
    public void NextRequest()
    {
        Buffer.BlockCopy(_buffer, _consumed, _buffer, 0, _filled - _consumed);
        _filled -= _consumed;
        _consumed = _headLength = 0;
        _started = 0;
        _betweenRequests = true;
    }

    /// <summary>
    /// Closes after our last answer without destroying it: stop sending (FIN), then read and drop what the client still
    /// sends, briefly. Closing with unread bytes would make the kernel send a reset, and the client might lose the
    /// answer it has not read yet.
    /// </summary>
    public async Task CloseGracefullyAsync()
    {
        var socket = connection.Socket;
        socket.Shutdown(SocketShutdown.Send);
        var drain = TimeSpan.FromSeconds(2);
        connection.SetTimeout(_options.Mode == WebServerMode.Sequential && _options.SequentialIdleTimeout < drain ? _options.SequentialIdleTimeout : drain);
        long drained = 0;
        while (drained < 4 * 1024 * 1024)
        {
            var received = await socket.ReceiveAsync(_buffer, SocketFlags.None).ConfigureAwait(false);
            if (received == 0) return;
            drained += received;
        }
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);

    private void WaitForFirstByte()
    {
        var timeout = _betweenRequests ? _options.KeepAliveTimeout : _options.HeaderTimeout;
        SetTimeout(timeout);
        connection.Idle = true; // stopping the server closes an idle connection at once
    }

    private void RequestStarted()
    {
        connection.Idle = false;
        _started = Stopwatch.GetTimestamp();
        SetTimeout(_options.HeaderTimeout);
    }

    /// <summary>Sequential mode: bytes arrived, so the client has another <see cref="WebServerOptions.SequentialIdleTimeout"/>, within the head's time.</summary>
    private void ExtendForSequentialClient()
    {
        if (_options.Mode == WebServerMode.Sequential) SetTimeout(_options.HeaderTimeout - Elapsed);
    }

    /// <summary>The wait's deadline; in sequential mode, where everyone waits for this client, silence ends it sooner.</summary>
    private void SetTimeout(TimeSpan timeout)
    {
        if (_options.Mode == WebServerMode.Sequential) connection.SetTimeout(timeout, _options.SequentialIdleTimeout);
        else connection.SetTimeout(timeout);
    }

    private HeadWait Refuse(int status, string reason)
    {
        Refusal = new HttpError(status, reason);
        return HeadWait.Refused;
    }

    private static string NotHttp(byte first) => first == 0x16
        ? "not HTTP: a TLS handshake (https:// to a plain http:// port)"
        : "not HTTP: the first byte is 0x" + first.ToString("X2", CultureInfo.InvariantCulture) + ", not a method";

    /// <summary>414 when the request line alone is too long, 431 when the whole head is; null while it may still fit.</summary>
    private HttpError? HeadTooLarge()
    {
        var received = _buffer.AsSpan(0, _filled);
        var limits = _options.Limits;
        var lineEnd = received.IndexOf((byte)'\n');
        if (lineEnd < 0 ? received.Length > limits.MaxRequestLineBytes + 1 : lineEnd > limits.MaxRequestLineBytes + 1)
            return new HttpError(414, "request line too long");
        if (received.Length >= limits.MaxHeaderBytes)
            return new HttpError(431, "request head too large");
        return null;
    }

    /// <summary>Drops empty lines before a request (allowed by RFC 9112 §2.2).</summary>
    private void SkipLeadingLineEnds()
    {
        var skip = 0;
        while (skip < _filled)
        {
            if (_buffer[skip] == '\n') skip++;
            else if (_buffer[skip] == '\r' && skip + 1 < _filled && _buffer[skip + 1] == '\n') skip += 2;
            else break;
        }
        if (skip == 0) return;
        Buffer.BlockCopy(_buffer, skip, _buffer, 0, _filled - skip);
        _filled -= skip;
    }
}

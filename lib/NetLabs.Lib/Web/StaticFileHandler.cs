using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Web;

/// <summary>
/// The built-in <see cref="ConnectionHandler"/>: reads HTTP/1.1 requests from a connection and answers each
/// with a file of the root folder (200, 304), a redirect for a folder (301), or an error page (400, 403,
/// 404, 405, 413, 414, 431, 500, 501, 505). Files go out as bytes, never decoded. The same code serves both
/// server modes; only keep-alive differs (sequential mode closes after each response).
/// <para>For each connection: (1) wait for a complete request head; (2) parse it; (3) read and drop any
/// body; (4) answer; (5) keep the connection for the next request, or close it.</para>
/// </summary>
public sealed class StaticFileHandler
{
    private const int SendBufferBytes = 16 * 1024;
    private const int StreamChunkBytes = 64 * 1024;

    private readonly WebServerOptions _options;
    private readonly HttpLimits _limits;
    private readonly FileCache _files;

    public StaticFileHandler(WebServerOptions options, string realRoot)
    {
        _options = options;
        _limits = options.Limits;
        _files = new FileCache(realRoot, options.FileCacheDuration, options.FileCacheMaxFileBytes);
    }

    /// <summary>Serves requests on one connection until it should close. Throws when the client goes away.</summary>
    public async Task HandleConnectionAsync(WebConnection connection)
    {
        var socket = connection.Socket;
        var buffer = ArrayPool<byte>.Shared.Rent(_limits.MaxHeaderBytes);
        var send = ArrayPool<byte>.Shared.Rent(SendBufferBytes);
        var filled = 0;          // bytes of buffer holding received, not yet handled data
        var started = 0L;        // when the current request's first byte arrived
        HttpRequest? inFlight = null; // the request being answered, to log if the connection fails meanwhile
        try
        {
            while (true)
            {
                // (1) Wait for a complete request head ("...\r\n\r\n").
                filled = SkipLeadingLineEnds(buffer, filled);
                connection.Idle = filled == 0;
                if (filled == 0) connection.SetTimeout(started == 0 ? _options.HeaderTimeout : _options.KeepAliveTimeout);
                else started = Stopwatch.GetTimestamp();
                int headEnd;
                while ((headEnd = HttpRequest.FindHeadEnd(buffer.AsSpan(0, filled))) < 0)
                {
                    if (HeadTooLarge(buffer.AsSpan(0, filled)) is { } tooLarge)
                    {
                        await RefuseAsync(connection, send, tooLarge, started).ConfigureAwait(false);
                        return;
                    }
                    var received = await socket.ReceiveAsync(buffer.AsMemory(filled, _limits.MaxHeaderBytes - filled), SocketFlags.None).ConfigureAwait(false);
                    if (received == 0)
                    {
                        if (filled > 0 && connection.TimedOut)
                            connection.Log("-", "-", 408, 0, Elapsed(started), "request head not complete in time: closed");
                        else if (filled > 0) connection.Log("-", "-", 400, 0, Elapsed(started), "client closed in the middle of a request");
                        return;
                    }
                    if (filled == 0)
                    {
                        connection.Idle = false;
                        started = Stopwatch.GetTimestamp();
                        connection.SetTimeout(_options.HeaderTimeout);
                    }
                    filled += received;
                    filled = SkipLeadingLineEnds(buffer, filled);
                }

                // (2) Parse it.
                var request = HttpRequest.Parse(buffer.AsSpan(0, headEnd), _limits, out var error);
                if (request is null)
                {
                    await RefuseAsync(connection, send, error, started).ConfigureAwait(false);
                    return;
                }
                inFlight = request;

                // (3) Read and drop the body, if any: its bytes must not be taken for the next request.
                var consumed = headEnd + (int)Math.Min(request.ContentLength, filled - headEnd);
                for (var left = request.ContentLength - (consumed - headEnd); left > 0;)
                {
                    var received = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(left, buffer.Length)), SocketFlags.None).ConfigureAwait(false);
                    if (received == 0) return;
                    left -= received;
                    consumed = filled = 0;
                }

                // (4) Answer.
                var keepAlive = request.WantsKeepAlive && _options.Mode == WebServerMode.Concurrent && !connection.IsStopping;
                connection.SetTimeout(_options.SendTimeout);
                if (!keepAlive) HoldUntilClose(socket);
                var (status, bytes, note) = await RespondAsync(connection, request, keepAlive, send).ConfigureAwait(false);
                connection.Log(request.Method, request.Target, status, bytes, Elapsed(started), note);
                inFlight = null;

                // (5) Next request on this connection, or close.
                if (!keepAlive || status >= 500)
                {
                    // Bytes still unread (the client sent more than this request) would turn the close into a
                    // reset that can destroy the response: drain them first. Otherwise just close.
                    if (filled > consumed)
                        await CloseGracefullyAsync(connection, buffer).ConfigureAwait(false);
                    return;
                }
                Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                filled -= consumed;
            }
        }
        catch (Exception e) when (inFlight is not null && (WebServer.IsDisconnection(e) || connection.TimedOut))
        {
            connection.Log(inFlight.Method, inFlight.Target, 0, 0, Elapsed(started), connection.TimedOut ? "timed out" : "client went away");
        }
        catch (Exception e) when (filled > 0 && connection.TimedOut && WebServer.IsDisconnection(e))
        {
            connection.Log("-", "-", 408, 0, Elapsed(started), "request head not complete in time: closed");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(send);
        }
    }

    /// <summary>Builds and sends the response to one parsed request; returns what the access log needs.</summary>
    private async Task<(int Status, long Bytes, string? Note)> RespondAsync(WebConnection connection, HttpRequest request, bool keepAlive, byte[] send)
    {
        var head = request.Method == "HEAD";
        if (request.Method != "GET" && !head)
            return (405, await SendErrorAsync(connection, send, 405, keepAlive, head, "Only GET and HEAD are served here."), null);

        FileEntry? file;
        PathResolution? refusal;
        try
        {
            (file, refusal) = _files.Lookup(request.Target);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (404, await SendErrorAsync(connection, send, 404, keepAlive, head), "vanished while being looked up");
        }
        catch (UnauthorizedAccessException)
        {
            return (403, await SendErrorAsync(connection, send, 403, keepAlive, head), "no permission to read it");
        }
        catch (Exception e)
        {
            _options.Diagnostics?.Invoke($"{request}: {e}");
            return (500, await SendErrorAsync(connection, send, 500, keepAlive: false, head), e.GetType().Name);
        }

        if (refusal is { Status: 301, Location: { } location })
            return (301, await SendErrorAsync(connection, send, 301, keepAlive, head, null, location), null);
        if (refusal is not null)
            return (refusal.Status, await SendErrorAsync(connection, send, refusal.Status, keepAlive, head),
                refusal.Hostile ? "refused: " + refusal.Reason : refusal.Reason);

        // 304 when the client's copy is as new as the file.
        if (HttpResponseHead.ParseDate(request.Header("If-Modified-Since")) is { } since && file!.LastModified <= since)
        {
            var length = WriteHead(send, 304, file.LastModifiedLine, keepAlive, request.MinorVersion);
            await SendAllAsync(connection, send.AsMemory(0, length)).ConfigureAwait(false);
            return (304, length, null);
        }

        var headLength = WriteHead(send, 200, file!.Headers, keepAlive, request.MinorVersion);
        if (head)
        {
            await SendAllAsync(connection, send.AsMemory(0, headLength)).ConfigureAwait(false);
            return (200, headLength, null);
        }
        if (file.Content is { } content)
        {
            if (headLength + content.Length <= send.Length)
            {
                // Small file: head and body leave in one send.
                content.CopyTo(send, headLength);
                await SendAllAsync(connection, send.AsMemory(0, headLength + content.Length)).ConfigureAwait(false);
            }
            else
            {
                await SendAllAsync(connection, send.AsMemory(0, headLength)).ConfigureAwait(false);
                await SendAllAsync(connection, content).ConfigureAwait(false);
            }
            return (200, headLength + content.Length, null);
        }
        return (200, headLength + await StreamFileAsync(connection, file, send, headLength).ConfigureAwait(false), null);
    }

    /// <summary>Writes a response head: status line, Server, Date, the given header lines, Connection, empty line.</summary>
    private static int WriteHead(byte[] send, int status, ReadOnlySpan<byte> headerLines, bool keepAlive, int minorVersion)
    {
        var writer = new HeadWriter(send);
        writer.StatusLine(status);
        writer.Append(headerLines);
        if (!keepAlive) writer.Append("Connection: close\r\n"u8);
        else if (minorVersion == 0) writer.Append("Connection: keep-alive\r\n"u8);
        writer.Append("\r\n"u8);
        return writer.Length;
    }

    /// <summary>Sends a large file in chunks, straight from disk; the head goes with the first chunk.</summary>
    private static async Task<long> StreamFileAsync(WebConnection connection, FileEntry file, byte[] send, int headLength)
    {
        using var handle = File.OpenHandle(file.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var chunk = ArrayPool<byte>.Shared.Rent(StreamChunkBytes);
        try
        {
            send.AsSpan(0, headLength).CopyTo(chunk);
            long offset = 0;
            var pending = headLength;
            while (offset < file.Length)
            {
                var read = await RandomAccess.ReadAsync(handle, chunk.AsMemory(pending, (int)Math.Min(chunk.Length - pending, file.Length - offset)), offset).ConfigureAwait(false);
                if (read == 0)
                    throw new IOException($"{file.FilePath} shrank while being sent"); // the promised length cannot be kept: drop the connection
                offset += read;
                await SendAllAsync(connection, chunk.AsMemory(0, pending + read)).ConfigureAwait(false);
                pending = 0;
            }
            return offset;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Sends an error page (or a redirect); returns the bytes sent.</summary>
    private static async Task<long> SendErrorAsync(WebConnection connection, byte[] send, int status, bool keepAlive, bool headOnly,
        string? detail = null, string? location = null)
    {
        var length = WriteErrorResponse(send, status, keepAlive, headOnly, detail, location);
        await SendAllAsync(connection, send.AsMemory(0, length)).ConfigureAwait(false);
        return length;
    }

    private static int WriteErrorResponse(byte[] send, int status, bool keepAlive, bool headOnly, string? detail, string? location)
    {
        var body = HttpResponseHead.ErrorPage(status, detail ?? (location is null ? null : "Moved to " + location));
        var headers = new StringBuilder()
            .Append("Content-Type: text/html; charset=utf-8\r\nContent-Length: ").Append(body.Length).Append("\r\n");
        if (status == 405) headers.Append("Allow: GET, HEAD\r\n");
        if (location is not null) headers.Append("Location: ").Append(location).Append("\r\n");
        var length = WriteHead(send, status, Encoding.ASCII.GetBytes(headers.ToString()), keepAlive, minorVersion: 1);
        if (headOnly) return length;
        body.CopyTo(send, length);
        return length + body.Length;
    }

    /// <summary>Answers a request that cannot be read (bad syntax, too large, …), logs it, and closes.</summary>
    private static async Task RefuseAsync(WebConnection connection, byte[] send, HttpError error, long started)
    {
        connection.SetTimeout(connection.Options.SendTimeout);
        var bytes = await SendErrorAsync(connection, send, error.Status, keepAlive: false, headOnly: false).ConfigureAwait(false);
        connection.Log("-", "-", error.Status, bytes, Elapsed(started), error.Reason);
        await CloseGracefullyAsync(connection, send).ConfigureAwait(false);
    }

    /// <summary>Over <see cref="WebServerOptions.MaxConnections"/>: a 503 and close.</summary>
    internal static async Task RefuseBusyAsync(WebConnection connection)
    {
        var send = new byte[1024];
        var bytes = await SendErrorAsync(connection, send, 503, keepAlive: false, headOnly: false, "Too many connections; try again later.").ConfigureAwait(false);
        connection.Log("-", "-", 503, bytes, TimeSpan.Zero, "too many connections");
    }

    /// <summary>
    /// Closes after our last response without destroying it: stop sending (FIN), then read and drop what the
    /// client still sends, briefly. Closing with unread bytes would make the kernel send a reset, and the
    /// client might lose the response it has not read yet.
    /// </summary>
    private static async Task CloseGracefullyAsync(WebConnection connection, byte[] scratch)
    {
        var socket = connection.Socket;
        socket.Shutdown(SocketShutdown.Send);
        connection.SetTimeout(TimeSpan.FromSeconds(2));
        long drained = 0;
        while (drained < 4 * 1024 * 1024)
        {
            var received = await socket.ReceiveAsync(scratch, SocketFlags.None).ConfigureAwait(false);
            if (received == 0) return;
            drained += received;
        }
    }

    /// <summary>
    /// Linux: the response's last bytes wait in the kernel (TCP_CORK) until the connection closes, so that they and the
    /// FIN leave in one segment instead of two. Closing (or shutting down) flushes them at once.
    /// </summary>
    private static void HoldUntilClose(Socket socket)
    {
        if (OperatingSystem.IsLinux())
            socket.SetRawSocketOption(6 /* IPPROTO_TCP */, 3 /* TCP_CORK */, [1, 0, 0, 0]);
    }

    private static async ValueTask SendAllAsync(WebConnection connection, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            connection.SetTimeout(connection.Options.SendTimeout);
            var sent = await connection.Socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>414 when the request line alone is too long, 431 when the whole head is; null while it may still fit.</summary>
    private HttpError? HeadTooLarge(ReadOnlySpan<byte> received)
    {
        var lineEnd = received.IndexOf((byte)'\n');
        if (lineEnd < 0 ? received.Length > _limits.MaxRequestLineBytes + 1 : lineEnd > _limits.MaxRequestLineBytes + 1)
            return new HttpError(414, "request line too long");
        if (received.Length >= _limits.MaxHeaderBytes)
            return new HttpError(431, "request head too large");
        return null;
    }

    /// <summary>Drops empty lines before a request (allowed by RFC 9112 §2.2); returns the bytes left.</summary>
    private static int SkipLeadingLineEnds(byte[] buffer, int filled)
    {
        var skip = 0;
        while (skip < filled)
        {
            if (buffer[skip] == '\n') skip++;
            else if (buffer[skip] == '\r' && skip + 1 < filled && buffer[skip + 1] == '\n') skip += 2;
            else break;
        }
        if (skip == 0) return filled;
        Buffer.BlockCopy(buffer, skip, buffer, 0, filled - skip);
        return filled - skip;
    }

    private static TimeSpan Elapsed(long started) => started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(started);
}

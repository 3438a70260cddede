using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace NetLabs.Web;

/// <summary>
/// The built-in <see cref="ConnectionHandler"/>: reads HTTP/1.1 requests from a connection and answers each
/// with a file of the root folder (200, 304), a redirect for a folder (301), or an error page (400, 403,
/// 404, 405, 413, 414, 431, 500, 501, 505). Files go out as bytes, never decoded. The same code serves both
/// server modes; only keep-alive differs (sequential mode closes after each response).
/// <para>For each request on a connection: (1) wait for a complete request head; (2) parse it; (3) read and drop
/// any body; (4) answer; (5) keep the connection for the next request, or close it. <see cref="RequestReader"/>
/// holds what the connection received and its deadlines.</para>
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
        using var reader = new RequestReader(connection);
        var send = ArrayPool<byte>.Shared.Rent(SendBufferBytes);
        try
        {
            while (await ServeRequestAsync(connection, reader, send).ConfigureAwait(false))
                reader.NextRequest();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(send);
        }
    }

    /// <summary>
    /// One request, in five steps: (1) wait for its head; (2) parse it; (3) skip its body; (4) answer; (5) say whether
    /// the connection stays open for the next request. Every request that reached the parser is logged.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // once per request: its state is reused, not allocated
    private async ValueTask<bool> ServeRequestAsync(WebConnection connection, RequestReader reader, byte[] send)
    {
        // (1) Wait for a complete request head.
        switch (await WaitForHeadAsync(connection, reader).ConfigureAwait(false))
        {
            case HeadWait.Refused:
                await RefuseAsync(connection, reader, send, reader.Refusal).ConfigureAwait(false);
                return false;
            case not HeadWait.Complete:
                return false;
        }

        // (2) Parse it.
        var request = HttpRequest.Parse(reader.Head, _limits, out var error);
        if (request is null)
        {
            await RefuseAsync(connection, reader, send, error).ConfigureAwait(false);
            return false;
        }

        try
        {
            // (3) Skip the body, if any.
            if (!await reader.SkipBodyAsync(request).ConfigureAwait(false)) return Abandoned(connection, reader, request);

            // (4) Answer.
            var keepAlive = request.WantsKeepAlive && _options.Mode == WebServerMode.Concurrent && !connection.IsStopping;
            connection.SetTimeout(_options.SendTimeout);
            if (!keepAlive) HoldUntilClose(connection.Socket);
            var (status, bytes, note) = await RespondAsync(connection, request, keepAlive, send).ConfigureAwait(false);
            connection.Log(request.Method, request.Target, status, bytes, reader.Elapsed, note);

            // (5) Keep the connection for the next request, or close it.
            if (keepAlive && status < 500) return true;
            if (reader.HasUnread) await reader.CloseGracefullyAsync().ConfigureAwait(false);
            return false;
        }
        catch (Exception e) when (WebServer.IsDisconnection(e) || connection.TimedOut)
        {
            return Abandoned(connection, reader, request);
        }
    }

    /// <summary>Logs a request whose answer could not be completed (status 0); the connection closes.</summary>
    private static bool Abandoned(WebConnection connection, RequestReader reader, HttpRequest request)
    {
        connection.Log(request.Method, request.Target, 0, 0, reader.Elapsed, connection.TimedOut ? "timed out" : "client went away");
        return false;
    }

    /// <summary>Step (1): what waiting for a head ended with; a request cut short is logged here.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // once per request: its state is reused, not allocated
    private static async ValueTask<HeadWait> WaitForHeadAsync(WebConnection connection, RequestReader reader)
    {
        HeadWait wait;
        try
        {
            wait = await reader.ReadHeadAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (reader.InRequest && connection.TimedOut && WebServer.IsDisconnection(e))
        {
            wait = HeadWait.TimedOut;
        }
        // Nothing of a request yet: an idle connection closed or timed out, which is no request to log.
        if (reader.InRequest && wait == HeadWait.TimedOut)
            connection.Log("-", "-", 408, 0, reader.Elapsed, "request head not complete in time: closed");
        else if (reader.InRequest && wait == HeadWait.ClientClosed)
            connection.Log("-", "-", 400, 0, reader.Elapsed, "client closed in the middle of a request");
        return wait;
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

    /// <summary>Answers a request that cannot be read (bad syntax, too large, not HTTP, …), logs it, and closes.</summary>
    private static async Task RefuseAsync(WebConnection connection, RequestReader reader, byte[] send, HttpError error)
    {
        connection.SetTimeout(connection.Options.SendTimeout);
        var bytes = await SendErrorAsync(connection, send, error.Status, keepAlive: false, headOnly: false).ConfigureAwait(false);
        connection.Log("-", "-", error.Status, bytes, reader.Elapsed, error.Reason);
        await reader.CloseGracefullyAsync().ConfigureAwait(false);
    }

    /// <summary>Over <see cref="WebServerOptions.MaxConnections"/>: a 503 and close.</summary>
    internal static async Task RefuseBusyAsync(WebConnection connection)
    {
        var send = new byte[1024];
        var bytes = await SendErrorAsync(connection, send, 503, keepAlive: false, headOnly: false, "Too many connections; try again later.").ConfigureAwait(false);
        connection.Log("-", "-", 503, bytes, TimeSpan.Zero, "too many connections");
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
}

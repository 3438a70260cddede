using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Proxy;

/// <summary>
/// One client connection of the proxy, served request after request (keep-alive) until the client closes, asks to
/// close, or waits too long. For each request: check it, answer from the cache when a fresh copy is there, revalidate a
/// stale one, otherwise forward it to the origin and relay the answer while keeping a copy for the cache.
/// </summary>
internal sealed class ProxyConnection : IDisposable
{
    private const int RelayBufferBytes = 64 * 1024;
    private static readonly string[] Forwarded = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
    private static readonly string[] ConditionalFields = ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"];

    private readonly ProxyServer _server;
    private readonly ProxyServerOptions _options;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly HttpMessageReader _reader;
    private readonly string _client;
    private readonly CancellationTokenSource _deadline = new(); // re-armed before each wait on the client
    private byte[]? _relayBuffer;
    private volatile bool _idle;

    public ProxyConnection(ProxyServer server, Socket socket, IPEndPoint remote)
    {
        _server = server;
        _options = server.Options;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new HttpMessageReader(_stream, _options.MaxHeaderBytes);
        _client = remote.ToString();
    }

    /// <summary>Ends the deadline's timer at once (an armed timer would otherwise keep the connection alive until it fires).</summary>
    public void Dispose() => _deadline.Dispose();

    /// <summary>Waiting for a next request on a kept-alive connection (stopping closes these at once).</summary>
    public bool IsIdle => _idle;

    private CancellationToken Arm(TimeSpan timeout)
    {
        _deadline.CancelAfter(timeout);
        return _deadline.Token;
    }

    public async Task ServeAsync(CancellationToken stopping)
    {
        using var stop = stopping.Register(() => _deadline.Cancel());
        for (var first = true; !stopping.IsCancellationRequested; first = false)
        {
            _idle = !first;
            if (!first && _server.IsStopping) return;
            ReadOnlyMemory<byte>? head;
            try
            {
                head = await _reader.ReadHeadAsync(Arm(first ? _options.HeaderTimeout : _options.KeepAliveTimeout)).ConfigureAwait(false);
            }
            catch (HeadTooLargeException)
            {
                await RespondErrorAsync(new RequestInfo(DateTimeOffset.UtcNow, Stopwatch.GetTimestamp(), "?", "?"), 431, "Request Header Fields Too Large",
                    $"The request head is longer than {_options.MaxHeaderBytes} bytes.").ConfigureAwait(false);
                return;
            }
            catch (EndOfStreamException)
            {
                return;
            }
            if (head is null) return;
            _idle = false;
            if (!await HandleRequestAsync(head.Value).ConfigureAwait(false)) return;
        }
    }

    /// <summary>What the log line of a request needs from its start.</summary>
    private sealed record RequestInfo(DateTimeOffset Time, long Started, string Method, string Url);

    /// <summary>Answers one request; false when the connection must close after it.</summary>
    private async Task<bool> HandleRequestAsync(ReadOnlyMemory<byte> headBytes)
    {
        var info = new RequestInfo(DateTimeOffset.UtcNow, Stopwatch.GetTimestamp(), "?", "?");
        var lineEnd = headBytes.Span.IndexOf((byte)'\n');
        if ((lineEnd < 0 ? headBytes.Length : lineEnd) > _options.MaxRequestLineBytes)
            return await RespondErrorAsync(info, 414, "URI Too Long", $"The request line is longer than {_options.MaxRequestLineBytes} bytes.").ConfigureAwait(false);
        HttpHead request;
        try
        {
            request = HttpHead.Parse(headBytes.Span, _options.MaxHeaderCount);
        }
        catch (FormatException e)
        {
            var tooMany = e.Message.StartsWith("More than", StringComparison.Ordinal);
            return await RespondErrorAsync(info, tooMany ? 431 : 400, tooMany ? "Request Header Fields Too Large" : "Bad Request", e.Message).ConfigureAwait(false);
        }
        info = info with { Method = Printable(request.First), Url = Printable(request.Second) };
        if (request.Third is not ("HTTP/1.1" or "HTTP/1.0"))
            return request.Third.StartsWith("HTTP/", StringComparison.Ordinal)
                ? await RespondErrorAsync(info, 505, "HTTP Version Not Supported", $"{request.Third} is not spoken here: HTTP/1.0 and HTTP/1.1 are.").ConfigureAwait(false)
                : await RespondErrorAsync(info, 400, "Bad Request", "The request line is not METHOD URL HTTP/1.x.").ConfigureAwait(false);
        if (request.HasToken("Via", _server.Pseudonym) || ViaNames(request, _server.Pseudonym))
            return await RespondErrorAsync(info, 508, "Loop Detected", "This request already went through this proxy: it is asking the proxy for itself.").ConfigureAwait(false);
        if (request.First == "CONNECT")
        {
            await TunnelAsync(info, request).ConfigureAwait(false);
            return false;
        }
        if (!ProxyTarget.TryParseAbsolute(request.Second, out var target, out var error))
            return request.Second.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                ? await RespondErrorAsync(info, 501, "Not Implemented", error).ConfigureAwait(false)
                : await RespondErrorAsync(info, 400, "Bad Request", error).ConfigureAwait(false);
        info = info with { Url = target!.ToString() };
        if (Array.IndexOf(Forwarded, request.First) < 0)
            return request.First == "TRACE"
                ? await RespondErrorAsync(info, 405, "Method Not Allowed", "TRACE is not forwarded (it would echo cookies back to a script).", ("Allow", string.Join(", ", Forwarded))).ConfigureAwait(false)
                : await RespondErrorAsync(info, 501, "Not Implemented", $"The method {Printable(request.First)} is not supported by this proxy.").ConfigureAwait(false);
        if (_server.IsSelf(target.Host, target.Port))
            return await RespondErrorAsync(info, 508, "Loop Detected", $"{target.Authority} is this proxy itself: a request for it would come back forever.").ConfigureAwait(false);
        MessageBody requestBody;
        try
        {
            requestBody = MessageBody.ForRequest(_reader, request);
        }
        catch (FormatException e)
        {
            return await RespondErrorAsync(info, 400, "Bad Request", e.Message).ConfigureAwait(false);
        }
        var keepAlive = WantsKeepAlive(request);
        if (request.HasToken("Expect", "100-continue") && requestBody.Framing != BodyFraming.None)
            await _stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), Arm(_options.IdleTimeout)).ConfigureAwait(false);

        var key = target.CacheKey;
        CachedResponse? cached = null;
        if (_options.CacheBytes > 0 && request.First is "GET" or "HEAD" && !request.HasToken("Cache-Control", "no-store"))
        {
            cached = _server.Cache.Get(key);
            if (cached is not null && !cached.MatchesVariant(request)) cached = null;
            if (cached is not null && cached.IsFresh(DateTimeOffset.UtcNow) && !CachePolicy.RequestWantsRevalidation(request))
                return await RespondFromCacheAsync(info, request, cached, CacheResult.Hit, keepAlive, 0).ConfigureAwait(false);
            if (cached is not null && (!cached.HasValidator || request.First == "HEAD")) cached = null;
        }
        return await ForwardAsync(info, request, target, requestBody, cached, keepAlive).ConfigureAwait(false);
    }

    private static bool ViaNames(HttpHead request, string pseudonym)
    {
        foreach (var (key, value) in request.Fields)
            if (key.Equals("Via", StringComparison.OrdinalIgnoreCase) && value.Contains(pseudonym, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>HTTP/1.1 keeps the connection unless told "close"; HTTP/1.0 only when told "keep-alive" (Proxy-Connection counts too).</summary>
    private static bool WantsKeepAlive(HttpHead request)
    {
        if (request.HasToken("Connection", "close") || request.HasToken("Proxy-Connection", "close")) return false;
        return request.Third == "HTTP/1.1" || request.HasToken("Connection", "keep-alive") || request.HasToken("Proxy-Connection", "keep-alive");
    }

    /// <summary>
    /// Sends a cached object: status, stored fields, its current Age, and the body (none for HEAD). A client that already
    /// holds this very object (its own If-None-Match / If-Modified-Since matches) gets <c>304 Not Modified</c> and no body.
    /// </summary>
    private async Task<bool> RespondFromCacheAsync(RequestInfo info, HttpHead request, CachedResponse cached, CacheResult result, bool keepAlive, long fromOrigin)
    {
        var notModified = CachePolicy.ClientHasCurrentCopy(request, cached);
        var withBody = !notModified && request.First != "HEAD" && cached.Status is not (204 or 304);
        var length = notModified ? "" : string.Create(CultureInfo.InvariantCulture, $"Content-Length: {cached.Body.Length}\r\n");
        var dynamic = string.Create(CultureInfo.InvariantCulture,
            $"Age: {(long)cached.Age(DateTimeOffset.UtcNow).TotalSeconds}\r\n{length}Via: 1.1 {_server.Pseudonym}\r\nX-Cache: {(result == CacheResult.Hit ? "HIT" : "REVALIDATED")}\r\nConnection: {(keepAlive ? "keep-alive" : "close")}\r\n\r\n");
        var statusCode = notModified ? 304 : cached.Status;
        var status = notModified ? "HTTP/1.1 304 Not Modified\r\n" : string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {cached.Status} {cached.Reason}\r\n");
        var fields = notModified ? cached.NotModifiedFieldBytes : cached.FieldBytes;
        var headLength = Encoding.Latin1.GetByteCount(status) + fields.Length + Encoding.Latin1.GetByteCount(dynamic);
        var bodyLength = withBody ? cached.Body.Length : 0;
        var token = Arm(_options.IdleTimeout);
        // Head and a small body in one write: one segment on the wire instead of two.
        var total = headLength + (bodyLength <= RelayBufferBytes ? bodyLength : 0);
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var at = Encoding.Latin1.GetBytes(status, buffer);
            fields.CopyTo(buffer, at);
            at += fields.Length;
            at += Encoding.Latin1.GetBytes(dynamic, buffer.AsSpan(at));
            if (total > headLength) cached.Body.AsSpan(0, bodyLength).CopyTo(buffer.AsSpan(at));
            await _stream.WriteAsync(buffer.AsMemory(0, total), token).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (total == headLength && bodyLength > 0)
            for (var at = 0; at < bodyLength; at += RelayBufferBytes)
                await _stream.WriteAsync(cached.Body.AsMemory(at, Math.Min(RelayBufferBytes, bodyLength - at)), Arm(_options.IdleTimeout)).ConfigureAwait(false);
        Log(info, statusCode, result, bodyLength, fromOrigin, notModified ? "the client's copy is current" : null);
        return keepAlive;
    }

    /// <summary>
    /// Sends the request to the origin (conditional when <paramref name="stale"/> is a stale cached copy), then relays the
    /// answer, storing a copy when it may be stored and is small enough.
    /// </summary>
    private async Task<bool> ForwardAsync(RequestInfo info, HttpHead request, ProxyTarget target, MessageBody requestBody, CachedResponse? stale, bool keepAlive)
    {
        using var originDeadline = new CancellationTokenSource();
        using var stop = _deadline.Token.Register(() => originDeadline.Cancel()); // the client timing out ends the origin side too
        Socket origin;
        var requestTime = DateTimeOffset.UtcNow;
        try
        {
            if (_options.OriginDelay > TimeSpan.Zero) await Task.Delay(_options.OriginDelay, _deadline.Token).ConfigureAwait(false);
            origin = await OriginConnector.ConnectAsync(target.Host, target.Port, _options.ConnectTimeout, _deadline.Token).ConfigureAwait(false);
        }
        catch (OriginException e)
        {
            return await RespondErrorAsync(info, e.Status, e.Status == 504 ? "Gateway Timeout" : "Bad Gateway", e.Message).ConfigureAwait(false);
        }
        using var _ = origin;
        await using var originStream = new NetworkStream(origin, ownsSocket: false);
        var originReader = new HttpMessageReader(originStream, _options.MaxHeaderBytes);
        CancellationToken ArmOrigin(TimeSpan timeout)
        {
            originDeadline.CancelAfter(timeout);
            return originDeadline.Token;
        }

        // The request, in origin-form, with this proxy's fields.
        var fields = new List<KeyValuePair<string, string>>(request.Fields);
        var outgoing = HttpHead.Create(request.First, target.PathAndQuery, "HTTP/1.1", fields);
        outgoing.RemoveHopByHop();
        outgoing.Remove("Expect");
        outgoing.Set("Host", target.Authority);
        AddVia(outgoing, request.Third);
        if (requestBody.Framing == BodyFraming.Chunked) outgoing.Fields.Add(new("Transfer-Encoding", "chunked"));
        if (stale is not null)
        {
            foreach (var name in ConditionalFields) outgoing.Remove(name);
            if (stale.ETag is { } etag) outgoing.Fields.Add(new("If-None-Match", etag));
            if (stale.LastModified is { } lastModified) outgoing.Fields.Add(new("If-Modified-Since", lastModified));
        }
        outgoing.Fields.Add(new("Connection", "close"));
        var buffer = _relayBuffer ??= new byte[RelayBufferBytes];
        HttpHead response;
        int status;
        try
        {
            await originStream.WriteAsync(outgoing.ToBytes(), ArmOrigin(_options.IdleTimeout)).ConfigureAwait(false);
            if (requestBody.Framing != BodyFraming.None)
            {
                var toOrigin = new BodyWriter(originStream, requestBody.Framing == BodyFraming.Chunked ? BodyFraming.Chunked : BodyFraming.Length);
                int read;
                while ((read = await requestBody.ReadAsync(buffer, Arm(_options.IdleTimeout)).ConfigureAwait(false)) > 0)
                    await toOrigin.WriteAsync(buffer.AsMemory(0, read), ArmOrigin(_options.IdleTimeout)).ConfigureAwait(false);
                await toOrigin.EndAsync(ArmOrigin(_options.IdleTimeout)).ConfigureAwait(false);
            }
            (response, status) = await ReadResponseHeadAsync(originReader, ArmOrigin(_options.OriginTimeout)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (originDeadline.IsCancellationRequested && !_deadline.IsCancellationRequested)
        {
            return await RespondErrorAsync(info, 504, "Gateway Timeout", $"{target.Authority} did not answer within {_options.OriginTimeout.TotalSeconds:0.#} s.").ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or EndOfStreamException || (e is IOException && !_deadline.IsCancellationRequested))
        {
            return await RespondErrorAsync(info, 502, "Bad Gateway", $"{target.Authority} sent no valid answer ({e.Message}).").ConfigureAwait(false);
        }
        var responseTime = DateTimeOffset.UtcNow;

        if (request.First is "POST" or "PUT" or "DELETE" or "PATCH" && status < 400) _server.Cache.Remove(target.CacheKey);
        if (stale is not null && status == 304)
        {
            response.RemoveHopByHop(); // the 304's Connection: close is about that connection, not the object
            var refreshed = stale.Revalidated(response, requestTime, responseTime);
            _server.Cache.Store(refreshed);
            return await RespondFromCacheAsync(info, request, refreshed, CacheResult.Revalidated, keepAlive, 0).ConfigureAwait(false);
        }

        var body = MessageBody.ForResponse(originReader, response, request.First, status);
        var whyNot = _options.CacheBytes == 0 ? "caching off" : CachePolicy.WhyNotStorable(request, status, response);
        var toClientFraming = body.Framing switch
        {
            BodyFraming.None => BodyFraming.None,
            BodyFraming.Length => BodyFraming.Length,
            _ => request.Third == "HTTP/1.1" ? BodyFraming.Chunked : BodyFraming.UntilClose,
        };
        keepAlive &= toClientFraming != BodyFraming.UntilClose;

        var head = HttpHead.Create("HTTP/1.1", response.Second, response.Third, response.Fields);
        head.RemoveHopByHop();
        if (body.Framing != BodyFraming.None) head.Remove("Content-Length");
        if (body.Framing == BodyFraming.Length) head.Fields.Add(new("Content-Length", body.Length!.Value.ToString(CultureInfo.InvariantCulture)));
        if (toClientFraming == BodyFraming.Chunked) head.Fields.Add(new("Transfer-Encoding", "chunked"));
        var stored = head.Fields.Where(f => !f.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !f.Key.Equals("Age", StringComparison.OrdinalIgnoreCase)
            && !f.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)).ToList();
        AddVia(head, "HTTP/1.1");
        head.Fields.Add(new("X-Cache", "MISS"));
        head.Fields.Add(new("Connection", keepAlive ? "keep-alive" : "close"));

        // Keep a copy only while it stays within the object limit: a larger body is relayed and forgotten.
        var copy = whyNot is null && request.First == "GET" && (body.Length ?? 0) <= _server.Cache.MaxObjectBytes
            ? new BoundedCopy(_server, _server.Cache.MaxObjectBytes, body.Length) : null;
        try
        {
            return await RelayAsync(info, request, target, response, status, body, stored, toClientFraming, keepAlive, whyNot,
                requestTime, responseTime, head, buffer, copy, originDeadline).ConfigureAwait(false);
        }
        finally
        {
            copy?.Dispose();
        }
    }

    /// <summary>Streams the origin's body to the client (keeping <paramref name="copy"/> while it fits), then stores it.</summary>
    private async Task<bool> RelayAsync(RequestInfo info, HttpHead request, ProxyTarget target, HttpHead response, int status, MessageBody body,
        List<KeyValuePair<string, string>> stored, BodyFraming toClientFraming, bool keepAlive, string? whyNot, DateTimeOffset requestTime,
        DateTimeOffset responseTime, HttpHead head, byte[] buffer, BoundedCopy? copy, CancellationTokenSource originDeadline)
    {
        var writer = new BodyWriter(_stream, toClientFraming);
        var storedInCache = false;
        // Stored once the whole body is here and before the client gets its last byte: a client that asks again the
        // moment its answer is complete finds the object in the cache.
        void StoreWhenWhole()
        {
            if (storedInCache || copy is not { Overflowed: false }) return;
            storedInCache = true;
            var vary = new List<KeyValuePair<string, string>>();
            foreach (var name in (response["Vary"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                vary.Add(new(name, request[name] ?? ""));
            _server.Cache.Store(new CachedResponse(target.CacheKey, status, response.Third, stored, copy.ToArray(), responseTime,
                CachePolicy.InitialAge(response, requestTime, responseTime), CachePolicy.FreshnessLifetime(response), vary));
        }
        await _stream.WriteAsync(head.ToBytes(), Arm(_options.IdleTimeout)).ConfigureAwait(false);
        try
        {
            int read;
            while (true)
            {
                originDeadline.CancelAfter(_options.IdleTimeout);
                if ((read = await body.ReadAsync(buffer, originDeadline.Token).ConfigureAwait(false)) == 0) break;
                copy?.Append(buffer.AsSpan(0, read));
                if (copy?.Overflowed == true) copy = null; // it gave its reservation back
                if (body.Length is { } length && body.BytesRead >= length) StoreWhenWhole();
                await writer.WriteAsync(buffer.AsMemory(0, read), Arm(_options.IdleTimeout)).ConfigureAwait(false);
            }
            StoreWhenWhole();
            await writer.EndAsync(Arm(_options.IdleTimeout)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IncompleteBodyException or FormatException
                                  || (e is OperationCanceledException or IOException && originDeadline.IsCancellationRequested && !_deadline.IsCancellationRequested))
        {
            // The origin broke off (closed early, bad chunks, silent): the client cannot be told but by closing, and what came
            // is a fragment, never stored.
            Log(info, status, CacheResult.Miss, writer.BytesWritten, body.BytesRead, e is IncompleteBodyException ? "origin closed mid-body, not cached" : "origin failed mid-body, not cached");
            return false;
        }
        var result = request.First is "GET" or "HEAD" ? CacheResult.Miss : CacheResult.None;
        Log(info, status, result, writer.BytesWritten, body.BytesRead, whyNot is null || result == CacheResult.None ? null : "not cached: " + whyNot);
        return keepAlive;
    }

    /// <summary>Reads the origin's answer head, skipping interim 1xx answers (100 Continue).</summary>
    private async Task<(HttpHead, int)> ReadResponseHeadAsync(HttpMessageReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var bytes = await reader.ReadHeadAsync(cancellationToken).ConfigureAwait(false)
                        ?? throw new EndOfStreamException("it closed the connection without an answer");
            var head = HttpHead.Parse(bytes.Span, _options.MaxHeaderCount);
            if (!head.First.StartsWith("HTTP/1.", StringComparison.Ordinal) || head.Second.Length != 3
                || !int.TryParse(head.Second, NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status < 100)
                throw new FormatException($"\"{Printable(head.First)} {Printable(head.Second)}\" is not an HTTP/1.x status line");
            if (status is >= 100 and < 200) continue;
            return (head, status);
        }
    }

    private void AddVia(HttpHead head, string receivedVersion)
    {
        var hop = (receivedVersion == "HTTP/1.0" ? "1.0 " : "1.1 ") + _server.Pseudonym;
        var existing = head["Via"];
        head.Set("Via", existing is null ? hop : existing + ", " + hop);
    }

    /// <summary>
    /// CONNECT: opens a TCP connection to host:port and copies bytes both ways until either side closes. The proxy sees
    /// only encrypted bytes, so there is nothing it could cache.
    /// </summary>
    private async Task TunnelAsync(RequestInfo info, HttpHead request)
    {
        if (!ProxyTarget.TryParseAuthority(request.Second, null, out var host, out var port, out var error))
        {
            await RespondErrorAsync(info, 400, "Bad Request", "CONNECT needs host:port. " + error).ConfigureAwait(false);
            return;
        }
        if (!_options.ConnectPorts.Contains(port))
        {
            await RespondErrorAsync(info, 403, "Forbidden", $"Tunnels go to port {string.Join(", ", _options.ConnectPorts)} only, not {port}.").ConfigureAwait(false);
            return;
        }
        if (_server.IsSelf(host, port))
        {
            await RespondErrorAsync(info, 508, "Loop Detected", $"{request.Second} is this proxy itself.").ConfigureAwait(false);
            return;
        }
        Socket origin;
        try
        {
            origin = await OriginConnector.ConnectAsync(host, port, _options.ConnectTimeout, _deadline.Token).ConfigureAwait(false);
        }
        catch (OriginException e)
        {
            await RespondErrorAsync(info, e.Status, e.Status == 504 ? "Gateway Timeout" : "Bad Gateway", e.Message).ConfigureAwait(false);
            return;
        }
        using var _ = origin;
        await using var originStream = new NetworkStream(origin, ownsSocket: false);
        await _stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 Connection Established\r\nVia: 1.1 {_server.Pseudonym}\r\n\r\n"), Arm(_options.IdleTimeout)).ConfigureAwait(false);
        long up = 0, down = 0;
        var upTask = PumpAsync(_reader.ReadAsync, originStream, origin, n => up += n);
        var downTask = PumpAsync(originStream.ReadAsync, _stream, _socket, n => down += n);
        await Task.WhenAll(upTask, downTask).ConfigureAwait(false);
        Log(info with { Url = request.Second }, 200, CacheResult.None, up + down, down, "tunnel");
    }

    /// <summary>Copies until the source ends (then half-closes the destination) or nothing moves for the idle timeout.</summary>
    private async Task PumpAsync(Func<Memory<byte>, CancellationToken, ValueTask<int>> read, Stream destination, Socket destinationSocket, Action<int> moved)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int count;
            while ((count = await read(buffer, Arm(_options.IdleTimeout)).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, count), Arm(_options.IdleTimeout)).ConfigureAwait(false);
                moved(count);
            }
            destinationSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (ProxyServer.IsDisconnection(e))
        {
            // One side went away or went silent: the tunnel ends, both sockets close.
            _deadline.Cancel();
        }
    }

    /// <summary>Answers with an error page of the proxy's own and closes the connection.</summary>
    private async Task<bool> RespondErrorAsync(RequestInfo info, int status, string reason, string explanation, params (string Name, string Value)[] extra)
    {
        await SendErrorPageAsync(_stream, _server.Pseudonym, status, reason, explanation, Arm(_options.IdleTimeout), extra).ConfigureAwait(false);
        Log(info, status, CacheResult.None, 0, 0, explanation);
        return false;
    }

    internal static async Task SendErrorPageAsync(Stream stream, string pseudonym, int status, string reason, string explanation, CancellationToken cancellationToken,
        params (string Name, string Value)[] extra)
    {
        var page = Encoding.UTF8.GetBytes($"""
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>{status} {reason}</title></head>
            <body><h1>{status} {reason}</h1><p>{WebUtility.HtmlEncode(explanation)}</p><hr><address>NetLabs caching proxy</address></body></html>

            """);
        var head = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {page.Length}\r\nVia: 1.1 {pseudonym}\r\nConnection: close\r\n"));
        foreach (var (name, value) in extra) head.Append(name).Append(": ").Append(value).Append("\r\n");
        head.Append("\r\n");
        try
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(page, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ProxyServer.IsDisconnection(e))
        {
            // The client is gone: the page has nobody to read it.
        }
    }

    /// <summary>Refuses a connection before reading from it (403 for a client not allowed, 503 when full), and logs it.</summary>
    internal static async Task RefuseAsync(ProxyServer server, Socket socket, IPEndPoint remote, int status, string reason, string explanation)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await SendErrorPageAsync(stream, server.Pseudonym, status, reason, explanation, deadline.Token).ConfigureAwait(false);
        server.Completed(new ProxyLogEntry(DateTimeOffset.UtcNow, remote.ToString(), "-", "-", status, CacheResult.None, 0, TimeSpan.Zero, explanation), 0);
    }

    private void Log(RequestInfo info, int status, CacheResult result, long bytes, long fromOrigin, string? note = null) =>
        _server.Completed(new ProxyLogEntry(info.Time, _client, info.Method, info.Url, status, result, bytes, Stopwatch.GetElapsedTime(info.Started), note), fromOrigin);

    /// <summary>What a client sent, safe to print on one line.</summary>
    private static string Printable(string text)
    {
        var shortened = text.Length <= 200 ? text : text[..200] + "…";
        return shortened.Any(char.IsControl) ? new string(shortened.Select(c => char.IsControl(c) ? '?' : c).ToArray()) : shortened;
    }

    /// <summary>
    /// A copy of a body for the cache that refuses to grow past the object limit, nor past what all copies in flight
    /// may hold together (<see cref="ProxyServer.ReserveCopyBytes"/>): then it is dropped and the relay goes on without it.
    /// So memory stays bounded by the cache's size however many large misses run at once.
    /// </summary>
    private sealed class BoundedCopy(ProxyServer server, long limit, long? expected) : IDisposable
    {
        private byte[] _bytes = [];
        private int _length;
        private long _reserved;

        public bool Overflowed { get; private set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            if (Overflowed) return;
            var needed = _length + (long)data.Length;
            if (needed > _bytes.Length)
            {
                var capacity = Math.Min(limit, Math.Max(Math.Max(_bytes.Length * 2L, needed), Math.Min(expected ?? 16 * 1024, limit)));
                if (needed > limit || !server.ReserveCopyBytes(capacity - _reserved))
                {
                    Overflowed = true;
                    Dispose();
                    return;
                }
                _reserved = capacity;
                Array.Resize(ref _bytes, (int)capacity);
            }
            data.CopyTo(_bytes.AsSpan(_length));
            _length += data.Length;
        }

        public byte[] ToArray() => _length == _bytes.Length ? _bytes : _bytes[.._length];

        /// <summary>Gives the reservation back (the stored object then counts in the cache's own budget).</summary>
        public void Dispose()
        {
            server.ReserveCopyBytes(-_reserved);
            _reserved = 0;
            _bytes = [];
        }
    }
}

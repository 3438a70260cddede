async Task HandleClient(Socket client, ProxyCache cache, CancellationToken cancellationToken)
{
    // Fill in start
    // 1. Read until the empty line that ends the request head: a client may send it in several pieces.
    var buffer = new byte[8192];
    var filled = 0;
    while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
    {
        if (filled == buffer.Length) return;                  // a head this long is no request of ours: hang up
        var received = await client.ReceiveAsync(buffer.AsMemory(filled), cancellationToken);
        if (received == 0) return;                             // the client went away
        filled += received;
    }

    // 2. The request line a client sends a proxy: "GET http://host:port/path HTTP/1.1", the whole URL.
    var requestLine = Encoding.ASCII.GetString(buffer, 0, filled).Split("\r\n")[0];
    var parts = requestLine.Split(' ');
    if (parts.Length != 3 || parts[0] != "GET" || !Uri.TryCreate(parts[1], UriKind.Absolute, out var url) || url.Scheme != "http")
    {
        await client.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), cancellationToken);
        return;
    }

    // 3. In the cache? Then the origin is not asked at all.
    if (cache.TryGetRaw(url.ToString(), out var cached))
    {
        await client.SendAsync(cached, cancellationToken);
        return;
    }

    // 4. A miss: ask the origin for the path, HTTP/1.0 so that it closes when its answer is complete.
    using var origin = new Socket(SocketType.Stream, ProtocolType.Tcp);
    await origin.ConnectAsync(url.Host, url.Port, cancellationToken);
    await origin.SendAsync(Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.0\r\nHost: {url.Authority}\r\nConnection: close\r\n\r\n"), cancellationToken);
    var response = new MemoryStream();
    var chunk = new byte[64 * 1024];
    for (int n; (n = await origin.ReceiveAsync(chunk, cancellationToken)) > 0;)
        response.Write(chunk, 0, n);                           // bytes, never text: images stay intact

    // 5. Keep it (StoreRaw keeps only a complete 200) and answer the client with every byte.
    var bytes = response.ToArray();
    cache.StoreRaw(url.ToString(), bytes);
    await client.SendAsync(bytes, cancellationToken);
    // Fill in end
}

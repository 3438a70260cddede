async Task HandleConnection(WebConnection connection)
{
    // Fill in start
    // 1. Read until the empty line that ends the request head: a client may send it in several pieces.
    var buffer = new byte[8192];
    var filled = 0;
    while (HttpRequest.FindHeadEnd(buffer.AsSpan(0, filled)) < 0)
    {
        if (filled == buffer.Length) return;            // a head this long is no request of ours: hang up
        var received = await connection.Stream.ReadAsync(buffer.AsMemory(filled));
        if (received == 0) return;                       // the client went away
        filled += received;
    }

    // 2. The request line, e.g. "GET /HelloWorld.html HTTP/1.1": method, target, version.
    var requestLine = Encoding.ASCII.GetString(buffer, 0, filled).Split("\r\n")[0];
    var parts = requestLine.Split(' ');
    var method = parts[0];
    var target = parts.Length > 1 ? parts[1] : "/";

    // 3. The file it names, never one outside the served folder ("..", encoded slashes, links: refused).
    var found = RequestPath.Resolve(connection.RealRoot, target);
    var status = found.Status;
    byte[] body;
    string contentType;
    if (status == 200)
    {
        body = await File.ReadAllBytesAsync(found.FilePath!);   // bytes, never text: images stay intact
        contentType = MimeTypes.For(found.FilePath!);
    }
    else
    {
        body = HttpResponseHead.ErrorPage(status);               // 404 Not Found, 403 Forbidden, …
        contentType = "text/html; charset=utf-8";
    }

    // 4. Status line, headers, the empty line, then the body (HEAD: the same head, no body).
    var head = $"HTTP/1.1 {status} {HttpResponseHead.Reason(status)}\r\n"
        + $"Content-Type: {contentType}\r\nContent-Length: {body.Length}\r\n"
        + (found.Location is null ? "" : $"Location: {found.Location}\r\n")
        + "Connection: close\r\n\r\n";
    await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(head));
    if (method != "HEAD") await connection.Stream.WriteAsync(body);
    connection.Log(method, target, status, body.Length, TimeSpan.Zero, "student handler");
    // Fill in end
}

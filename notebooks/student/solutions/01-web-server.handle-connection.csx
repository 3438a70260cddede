async Task HandleConnection(WebConnection connection)
{
    // Fill in start
    var socket = connection.Socket;

    // 1. recv() until the empty line that ends the request head: one recv() returns what has arrived so far,
    //    and a client may send its request in several pieces.
    var received = new List<byte>();
    var buffer = new byte[4096];
    while (!Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n\r\n"))
    {
        if (received.Count > 64 * 1024) return;          // no request of ours is this long: hang up
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
        if (n == 0) return;                               // the client went away
        received.AddRange(buffer.AsSpan(0, n).ToArray());
    }

    // 2. The request line, e.g. "GET /HelloWorld.html HTTP/1.1": method, path (without a ?query, %xx decoded).
    var requestLine = Encoding.ASCII.GetString(received.ToArray()).Split("\r\n")[0];
    var parts = requestLine.Split(' ');
    var method = parts[0];
    var path = parts.Length > 1 ? Uri.UnescapeDataString(parts[1].Split('?')[0]) : "/";

    // 3. The file under the root, never outside it: make the path absolute ("..", "//" resolved), then check that
    //    it is still inside the root, i.e. it starts with the root AND a separator ("www-old" starts with "www").
    var root = Path.GetFullPath(connection.RealRoot);
    var file = Path.GetFullPath(Path.Join(root, path));   // Join, not Combine: Combine("/www", "/etc") is "/etc"
    var inside = file == root || file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    if (inside && Directory.Exists(file)) file = Path.Join(file, "index.html");
    int status;
    byte[] body;
    var contentType = "text/html; charset=utf-8";
    if (!inside) { status = 403; body = HttpResponseHead.ErrorPage(403); }
    else if (!File.Exists(file)) { status = 404; body = HttpResponseHead.ErrorPage(404); }
    else
    {
        status = 200;
        body = await File.ReadAllBytesAsync(file);            // bytes, never text: images stay intact
        contentType = MimeTypes.For(file);
    }

    // 4. Status line, headers, the empty line (every line ends in \r\n), then the body (HEAD: the same head, no body).
    var head = $"HTTP/1.1 {status} {HttpResponseHead.Reason(status)}\r\n"
        + $"Content-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
    await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None);
    if (method != "HEAD") await socket.SendAsync(body, SocketFlags.None);
    connection.Log(method, path, status, body.Length, TimeSpan.Zero, "student handler");
    // Fill in end
}

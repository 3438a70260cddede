async Task<PingReply> SendOnePing(Socket socket, PingRequest request, CancellationToken cancellationToken)
{
    // Fill in start
    var clock = Stopwatch.StartNew();   // monotonic: the wall clock (DateTime.Now) can be set back or forward mid-ping
    await socket.SendToAsync(Encoding.ASCII.GetBytes(request.Payload), SocketFlags.None, request.Server, cancellationToken);   // sendto

    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    timeout.CancelAfter(request.Timeout);   // settimeout
    var buffer = new byte[2048];
    try
    {
        while (true)
        {
            var echo = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);   // recvfrom
            var rtt = clock.Elapsed;
            var text = Encoding.ASCII.GetString(buffer, 0, echo.ReceivedBytes);   // only the bytes that came
            // The same socket serves every ping: the late echo of an earlier ping can arrive now. Only ours counts
            // ("PING <sequence> <time>"); anything else is dropped and we keep waiting, within the same timeout.
            var words = text.Split(' ');
            if (words.Length >= 2 && words[1] == request.Sequence.ToString())
                return new PingReply(request.Sequence, PingOutcome.Reply, rtt, text, (IPEndPoint)echo.RemoteEndPoint);
        }
    }
    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
    {
        return PingReply.TimedOut(request.Sequence);   // "Request timed out"
    }
    // Fill in end
}

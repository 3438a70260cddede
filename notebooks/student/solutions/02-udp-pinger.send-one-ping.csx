async Task<PingReply> SendOnePing(PingRequest request, CancellationToken cancellationToken)
{
    // Fill in start
    // A fresh socket for each ping: the late echo of an earlier ping can never reach it.
    using var udp = new UdpClient(request.Server.AddressFamily);
    var clock = Stopwatch.StartNew();
    await udp.SendAsync(Encoding.ASCII.GetBytes(request.Payload), request.Server, cancellationToken);

    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    timeout.CancelAfter(request.Timeout);
    try
    {
        while (true)
        {
            var echo = await udp.ReceiveAsync(timeout.Token);
            // Only the echo of this very ping counts: from the server, with our sequence number.
            if (echo.RemoteEndPoint.Equals(request.Server)
                && PingMessage.TryParseSequence(echo.Buffer, out var sequence) && sequence == request.Sequence)
                return new PingReply(request.Sequence, PingOutcome.Reply, clock.Elapsed, Encoding.ASCII.GetString(echo.Buffer), echo.RemoteEndPoint);
        }
    }
    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
    {
        return PingReply.TimedOut(request.Sequence);   // "Request timed out"
    }
    // Fill in end
}

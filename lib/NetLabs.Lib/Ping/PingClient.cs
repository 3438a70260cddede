using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;

namespace NetLabs.Ping;

/// <summary>
/// The lab's UDP ping client. It never calls <c>Bind</c>: the operating system gives the socket a free port on the
/// first send. RTTs come from the monotonic high-resolution <see cref="Stopwatch"/>, not the wall clock, and each
/// reply is matched to its ping by the sequence number it carries, so a late reply to ping 3 is reported as late and
/// never taken for ping 4's.
/// </summary>
public sealed class PingClient : IAsyncDisposable
{
    private enum PingState { Pending, Answered, TimedOut, AnsweredLate }

    private sealed class Sent(long timestamp, TimeSpan timeout)
    {
        /// <summary>When it left (Stopwatch timestamp); set again at the send itself when the send was put off.</summary>
        public long Timestamp { get; set; } = timestamp;
        public TimeSpan Timeout { get; } = timeout;
        public PingState State { get; set; } = PingState.Pending;
        // Continuations run on the receive thread as soon as the reply is set: no thread hop between the
        // datagram arriving and the next ping going out.
        public TaskCompletionSource<PingReply> Reply { get; } = new();
    }

    private readonly Socket _socket;
    private readonly Dictionary<int, Sent> _sent = new();
    // Late, duplicate and unexpected datagrams wait here until the loop streams them; bounded, so a stranger flooding
    // our port costs at most this many (the oldest go first).
    private readonly Channel<PingReply> _unsolicited = Channel.CreateBounded<PingReply>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _stop = new();
    private Task? _receiveLoop;
    // The receive thread while it runs a datagram's handler (0 otherwise), and the ping a continuation on that thread
    // asked to send meanwhile: it goes out as the handler's last step (see ExchangeAsync).
    private int _handlerThread;
    private (byte[] Payload, PingRequest Request, Sent Sent)? _deferredSend;

    public PingClient(PingClientOptions options)
    {
        options.Validate();
        Options = options;
        _socket = new Socket(options.Server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // A student's exchange gets the plain socket the textbook's client has (a ping to a closed port times out).
        if (options.Exchange is null) ReportUnreachable(_socket);
    }

    /// <summary>
    /// Asks Linux to report ICMP errors (port or host unreachable) on this unconnected socket, so a ping to a port where
    /// nothing listens fails at once with <see cref="PingException"/> instead of timing out ten times. Only a connected
    /// socket gets them otherwise, and a connected socket would no longer see datagrams from anyone else (which the lab
    /// shows as unexpected). Windows reports them without asking; elsewhere pings just time out.
    /// </summary>
    private static void ReportUnreachable(Socket socket)
    {
        if (!OperatingSystem.IsLinux()) return;
        const int IpRecvErr = 11, Ipv6RecvErr = 25; // IP_RECVERR, IPV6_RECVERR in <linux/in.h>, <linux/in6.h>
        var (level, option) = socket.AddressFamily == AddressFamily.InterNetworkV6 ? (41, Ipv6RecvErr) : (0, IpRecvErr);
        socket.SetRawSocketOption(level, option, BitConverter.GetBytes(1));
    }

    public PingClientOptions Options { get; }

    /// <summary>The local address the OS picked at the first send (null before it).</summary>
    public IPEndPoint? LocalEndPoint => _socket.IsBound ? (IPEndPoint?)_socket.LocalEndPoint : null;

    /// <summary>The socket handed to a student's exchange (the grader maps it to the student's socket in the graded kernel).</summary>
    internal Socket Socket => _socket;

    /// <summary>
    /// Sends the pings and streams each outcome as it happens, in order (late and duplicate replies included, when the
    /// exchange is ours: printed before the outcome of the ping that was waiting when they came). Each ping goes through <see cref="PingClientOptions.Exchange"/> (a student's) or, when that is null,
    /// through <see cref="ExchangeAsync"/>. Throws <see cref="PingException"/> when the run cannot go on (nothing
    /// listens on the server's port), with the replies so far.
    /// </summary>
    public IAsyncEnumerable<PingReply> PingAsync(CancellationToken cancellationToken = default) => Options.Exchange is { } theirs
        // Task.Run: a student's blocking socket calls (ReceiveFrom with ReceiveTimeout) never hold the caller's thread.
        ? RunAsync(Options, (request, token) => Task.Run(() => theirs(_socket, request, token), token), null, cancellationToken)
        : RunAsync(Options, ExchangeAsync, _unsolicited.Reader, cancellationToken);

    /// <summary>
    /// Closes the socket now, so that a student's exchange blocked in <c>ReceiveFrom</c> without a timeout returns (with
    /// an exception) instead of waiting for ever. The client is of no further use, except to dispose it.
    /// </summary>
    public void Abort() => _socket.Dispose();

    /// <summary>Runs all pings and returns them with their statistics.</summary>
    public async Task<PingRun> RunToEndAsync(string name = "ping", CancellationToken cancellationToken = default)
    {
        var replies = new List<PingReply>();
        await foreach (var reply in PingAsync(cancellationToken).ConfigureAwait(false)) replies.Add(reply);
        return new PingRun(name, replies);
    }

    private static async IAsyncEnumerable<PingReply> RunAsync(PingClientOptions options, Func<PingRequest, CancellationToken, Task<PingReply>> exchange,
        ChannelReader<PingReply>? unsolicited, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var sofar = new List<PingReply>();
        for (var sequence = 1; sequence <= options.Count; sequence++)
        {
            var due = options.Interval * (sequence - 1) - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken).ConfigureAwait(false);
            var request = new PingRequest(sequence, options.Payload(sequence, DateTimeOffset.UtcNow), options.Server, options.Timeout);
            PingReply reply;
            try
            {
                reply = await exchange(request, cancellationToken).ConfigureAwait(false);
            }
            catch (PingException failure)
            {
                throw failure.WithReplies(sofar);
            }
            // What came while this ping waited (a late reply to an earlier ping, say) is printed before this ping's own
            // outcome: in the order it arrived. The reply's continuation runs on the receive thread, so nothing arrives
            // between the reply and this drain.
            while (unsolicited is not null && unsolicited.TryRead(out var other)) { sofar.Add(other); yield return other; }
            sofar.Add(reply);
            yield return reply;
        }
        if (unsolicited is null) yield break;
        if (options.LateReplyGrace > TimeSpan.Zero) await Task.Delay(options.LateReplyGrace, cancellationToken).ConfigureAwait(false);
        while (unsolicited.TryRead(out var other)) yield return other;
    }

    /// <summary>
    /// Our exchange, on the client's own socket: send one ping, wait for the reply with its sequence number. Throws
    /// <see cref="PingException"/> when the operating system reports the server's port or host unreachable.
    /// </summary>
    public async Task<PingReply> ExchangeAsync(PingRequest request, CancellationToken cancellationToken = default)
    {
        var payload = Encoding.ASCII.GetBytes(request.Payload);
        var sent = new Sent(Stopwatch.GetTimestamp(), request.Timeout);
        lock (_sent) _sent[request.Sequence] = sent;
        // Everything this ping needs is set up before it leaves, so that the thread waits for the reply right after the
        // send. On this 2-core machine the echo runs on a core our thread is still busy on: each microsecond of work
        // after the send was measured to add about a microsecond to the round trip.
        var reply = sent.Reply.Task.WaitAsync(request.Timeout, cancellationToken);
        if (Volatile.Read(ref _handlerThread) == Environment.CurrentManagedThreadId && _deferredSend is null)
        {
            // Asked from a reply's continuation, on the receive thread: the handler sends it as its last step, just
            // before that thread blocks in the next receive (the continuation's unwinding would otherwise come between).
            _deferredSend = (payload, request, sent);
        }
        else if (Send(payload, request, sent))
        {
            // Only now does the socket have a port (the OS bound it on send), so only now can we listen on it.
            _receiveLoop ??= UdpReceiveLoop.Start(_socket, OnDatagram, OnReceiveError, $"ping client {LocalEndPoint}", _stop.Token);
        }
        try
        {
            return await reply.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            lock (_sent)
            {
                if (sent.State != PingState.Pending) return sent.Reply.Task.Result; // answered just as the timeout fired
                sent.State = PingState.TimedOut;
            }
            return PingReply.TimedOut(request.Sequence);
        }
    }

    /// <summary>
    /// Sends a ping now; its round trip is timed from here. A UDP send only copies the datagram into the kernel, it does
    /// not wait for the network; sending synchronously also keeps the socket in blocking mode, so the receive thread
    /// sleeps in the kernel until the reply is there. False (and the ping fails) when it could not be sent.
    /// </summary>
    private bool Send(byte[] payload, PingRequest request, Sent sent)
    {
        sent.Timestamp = Stopwatch.GetTimestamp();
        try
        {
            _socket.SendTo(payload, SocketFlags.None, request.Server);
            return true;
        }
        catch (SocketException error)
        {
            // An earlier ping's ICMP error can also surface here.
            sent.Reply.TrySetException(PingException.Sending(error, request.Server, request.Sequence));
        }
        catch (ObjectDisposedException error)
        {
            sent.Reply.TrySetException(error); // aborted
        }
        return false;
    }

    private void OnDatagram(ReadOnlyMemory<byte> datagram, IPEndPoint from, long receivedTimestamp)
    {
        EnterHandler();
        try { HandleDatagram(datagram, from, receivedTimestamp); }
        finally { LeaveHandler(); }
    }

    private void OnReceiveError(Exception error)
    {
        EnterHandler();
        try { HandleReceiveError(error); }
        finally { LeaveHandler(); }
    }

    private void EnterHandler() => Volatile.Write(ref _handlerThread, Environment.CurrentManagedThreadId);

    /// <summary>The ping a continuation asked for while the handler ran leaves now, the receive thread's last step before it waits again.</summary>
    private void LeaveHandler()
    {
        Volatile.Write(ref _handlerThread, 0);
        if (_deferredSend is not { } deferred) return;
        _deferredSend = null;
        Send(deferred.Payload, deferred.Request, deferred.Sent);
    }

    private void HandleDatagram(ReadOnlyMemory<byte> datagram, IPEndPoint from, long receivedTimestamp)
    {
        var text = Encoding.ASCII.GetString(datagram.Span);
        if (!from.Equals(Options.Server) || !PingMessage.TryParseSequence(datagram.Span, out var sequence))
        {
            _unsolicited.Writer.TryWrite(new PingReply(-1, PingOutcome.Unexpected, null, PingMessage.Preview(datagram.Span), from));
            return;
        }
        Sent? answered = null;
        Sent? expired = null;
        PingReply reply;
        lock (_sent)
        {
            if (!_sent.TryGetValue(sequence, out var sent))
                reply = new PingReply(sequence, PingOutcome.Unexpected, null, text, from);
            else
            {
                var rtt = Stopwatch.GetElapsedTime(sent.Timestamp, receivedTimestamp);
                var before = sent.State;
                (reply, sent.State) = sent.State switch
                {
                    // Measured past its timeout, even if the waiting ping's timer has not fired yet (a busy machine
                    // runs timers late): the ping timed out, and this is its late reply. The clock decides, not the race.
                    PingState.Pending when rtt > sent.Timeout => (new PingReply(sequence, PingOutcome.Late, rtt, text, from), PingState.AnsweredLate),
                    PingState.Pending => (new PingReply(sequence, PingOutcome.Reply, rtt, text, from), PingState.Answered),
                    PingState.TimedOut => (new PingReply(sequence, PingOutcome.Late, rtt, text, from), PingState.AnsweredLate),
                    var state => (new PingReply(sequence, PingOutcome.Duplicate, rtt, text, from), state),
                };
                if (reply.Outcome == PingOutcome.Reply) answered = sent;
                else if (before == PingState.Pending && reply.Outcome == PingOutcome.Late) expired = sent; // its waiter still waits
            }
        }
        // Completed outside the lock: the waiting ping's code continues right here, on this thread.
        if (answered is not null) answered.Reply.TrySetResult(reply);
        else
        {
            expired?.Reply.TrySetResult(PingReply.TimedOut(sequence));
            _unsolicited.Writer.TryWrite(reply);
        }
    }

    /// <summary>An ICMP error reported on the socket: the pings waiting now fail (their server is not there).</summary>
    private void HandleReceiveError(Exception error)
    {
        if (error is not SocketException socketError || PingException.From(socketError, Options.Server) is not { } failure) return;
        List<Sent> waiting;
        lock (_sent) waiting = _sent.Values.Where(s => s.State == PingState.Pending).ToList();
        foreach (var sent in waiting) sent.Reply.TrySetException(failure);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_receiveLoop is not null) await _receiveLoop.ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
    }
}

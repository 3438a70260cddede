using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using NetLabs.Icmp;
using NetLabs.Proxy;
using NetLabs.Video;
using static NetLabs.Checks.Grading.GradingValues;

namespace NetLabs.Checks.Grading;

/// <summary>The judge's side of labs 4–7: the student's functions of the proxy, ICMP, traceroute and video labs.</summary>
public sealed partial class RemoteGap
{
    /// <summary>A synchronous gap (code over bytes) waits this long for the kernel's answer: a student's endless loop stops the call, not the judge.</summary>
    private static readonly TimeSpan PureCallLimit = TimeSpan.FromSeconds(10);

    /// <summary>
    /// One call to a gap that is plain code over values (the battery calls it synchronously, from its own task). The
    /// student's exception comes back as itself (<see cref="GradingWire.StudentException"/>), so the battery names it.
    /// A check makes hundreds of these: each goes on an idle connection of the pool when there is one (the kernel
    /// takes them one after another on it), else on a new one, so calls made at once still run at once, as in the notebook.
    /// </summary>
    private JsonObject CallNow(JsonObject request)
    {
        using var deadline = new CancellationTokenSource(PureCallLimit);
        var connection = _idle.TryTake(out var idle) ? idle : GradingWire.ConnectAsync(host, deadline.Token).GetAwaiter().GetResult();
        JsonObject reply;
        try
        {
            var stream = connection.GetStream();
            GradingWire.WriteAsync(stream, request, deadline.Token).GetAwaiter().GetResult();
            reply = GradingWire.ReadAsync(stream, deadline.Token).GetAwaiter().GetResult()
                ?? throw new IOException("the graded notebook closed the call without an answer (did its kernel stop?)");
        }
        catch
        {
            connection.Dispose(); // a call given up on (the student's code still runs) or a connection gone: never reused
            throw;
        }
        _idle.Add(connection);
        return GradingWire.Answer(reply);
    }

    private readonly ConcurrentBag<TcpClient> _idle = [];

    /// <summary>Closes the idle connections of <see cref="CallNow"/> once the battery is done.</summary>
    private void CloseIdleCalls()
    {
        while (_idle.TryTake(out var connection)) connection.Dispose();
    }

    // Lab 5. Checksum, echo request and reply parser are code over bytes: only bytes cross. The check that sends the
    // student's request to the kernel (and the one that parses the kernel's replies) opens its raw socket here, in the
    // judge, which as root has CAP_NET_RAW in its own loopback-only namespace; the student's code, as nobody, has no
    // privilege and needs none: it builds and reads bytes, the judge sends and receives them.
    private ushort Checksum(byte[] data) => (ushort)CallNow(new JsonObject { ["kind"] = "checksum", ["data"] = Bytes(data) })["value"]!;

    private byte[] BuildEchoRequest(ushort identifier, ushort sequence, byte[] data)
    {
        var reply = CallNow(new JsonObject { ["kind"] = "echo-request", ["identifier"] = identifier, ["sequence"] = sequence, ["data"] = Bytes(data) });
        return reply["null"] is not null ? null! : Bytes(reply["bytes"]);
    }

    private ParsedIcmp? ParseReply(byte[] packet)
    {
        var reply = CallNow(new JsonObject { ["kind"] = "parse", ["packet"] = Bytes(packet) });
        return reply["null"] is not null ? null : Parsed(reply["parsed"]!);
    }

    // Lab 7. The RTP header and the RTSP request and reply are code over values; the server, the client and their
    // sockets are the battery's, here. The client state goes there and back with each call, so a CSeq the student's
    // function does not count up (or a session it does not keep) stays as it left it.
    private void WriteRtpHeader(RtpPacket packet, Span<byte> header)
    {
        var written = Bytes(CallNow(new JsonObject { ["kind"] = "rtp-header", ["packet"] = Packet(packet), ["length"] = Math.Min(header.Length, packet.HeaderLength) })["header"]);
        written.AsSpan(0, Math.Min(written.Length, header.Length)).CopyTo(header);
    }

    private string WriteRequest(string method, string url, RtspClientState state)
    {
        var reply = CallNow(new JsonObject { ["kind"] = "rtsp-request", ["method"] = method, ["url"] = url, ["state"] = State(state) });
        State(reply["state"]!, state);
        return (string?)reply["text"] ?? null!;
    }

    private bool ReadReply(string reply, RtspClientState state)
    {
        var answer = CallNow(new JsonObject { ["kind"] = "rtsp-reply", ["reply"] = reply, ["state"] = State(state) });
        State(answer["state"]!, state);
        return (bool)answer["accepted"]!;
    }

    /// <summary>
    /// Lab 6: the student's loop runs in the kernel with a prober that asks this one, the battery's (a simulated path of
    /// routers; a raw socket would be the judge's too), for each probe's answer. Every probe is served and recorded here,
    /// with the timeout the student's loop gave it.
    /// </summary>
    private async Task<List<TracerouteHop>> TraceLoopAsync(Prober prober, IPAddress destination, TracerouteOptions options, CancellationToken cancellationToken)
    {
        var probes = new TcpListener(IPAddress.Loopback, 0);
        probes.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var serving = ServeProbesAsync(probes, prober, stop.Token);
        try
        {
            var reply = await GradingWire.CallAsync(host, new JsonObject
            {
                ["kind"] = "traceroute", ["prober"] = ((IPEndPoint)probes.LocalEndpoint).Port, ["path"] = prober.Path.ToString(), ["probeKind"] = prober.Kind.ToString(),
                ["destination"] = destination.ToString(), ["options"] = Options(options),
            }, cancellationToken).ConfigureAwait(false);
            return reply["null"] is not null ? null! : [.. reply["hops"]!.AsArray().Select(h => h is null ? null! : Hop(h))];
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            probes.Stop();
            await serving.ConfigureAwait(false);
        }
    }

    private static async Task ServeProbesAsync(TcpListener listener, Prober prober, CancellationToken cancellationToken)
    {
        var calls = new List<Task>();
        try
        {
            while (true) calls.Add(AnswerProbeAsync(await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false), prober, cancellationToken));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { }
        await Task.WhenAll(calls).ConfigureAwait(false);
    }

    private static async Task AnswerProbeAsync(TcpClient call, Prober prober, CancellationToken cancellationToken)
    {
        using var _ = call;
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var stream = call.GetStream();
            var request = await GradingWire.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            if (request is null) return;
            JsonObject reply;
            // The kernel closes the call when the student's loop cancels the probe: the probe here ends with it.
            try { reply = new JsonObject { ["answer"] = Answer(await prober.ProbeAsync(Request(request), GradingWire.CancelledWhenClosed(stream, probe)).ConfigureAwait(false)) }; }
            catch (Exception e) when (e is not OperationCanceledException) { reply = GradingWire.Error(e); }
            await GradingWire.WriteAsync(stream, reply, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException or System.Text.Json.JsonException) { }
    }

    /// <summary>
    /// Lab 4: the battery's proxy server hands its client's socket here; the student's handler in the kernel connects to a
    /// relay, which passes the client's bytes both ways as they come, and gets a cache of its own per proxy (the kernel's,
    /// as large as this one). The origin is the battery's web server on the loopback the kernel shares: what reaches it is
    /// counted there. The student's exception is thrown again here, where the proxy server takes it as in the notebook.
    /// </summary>
    private async Task HandleClientAsync(Socket client, ProxyCache cache, CancellationToken cancellationToken)
    {
        var relay = new TcpListener(IPAddress.Loopback, 0);
        relay.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var clientStream = new NetworkStream(client, ownsSocket: false);
        var relaying = RelayProxyClientAsync(relay, clientStream, answered, stop.Token);
        try
        {
            await GradingWire.CallAsync(host, new JsonObject
            {
                ["kind"] = "proxy", ["relay"] = ((IPEndPoint)relay.LocalEndpoint).Port, ["cache"] = _proxyCaches.GetValue(cache, _ => Guid.NewGuid().ToString("N")),
                ["capacity"] = cache.CapacityBytes, ["maxObject"] = cache.MaxObjectBytes,
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The handler has returned: the last bytes it wrote are still on their way through the relay.
            await Task.WhenAny(answered.Task, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            relay.Stop();
            try { await relaying.ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    private readonly ConditionalWeakTable<ProxyCache, string> _proxyCaches = new();

    private static async Task RelayProxyClientAsync(TcpListener relay, Stream client, TaskCompletionSource answered, CancellationToken cancellationToken)
    {
        try
        {
            using var student = await relay.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            var toStudent = RelayAsync(client, student.GetStream(), () => student.Client.Shutdown(SocketShutdown.Send), cancellationToken);
            try { await student.GetStream().CopyToAsync(client, cancellationToken).ConfigureAwait(false); }
            finally { answered.TrySetResult(); }
            await toStudent.ConfigureAwait(false);
        }
        finally
        {
            answered.TrySetResult();
        }
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using NetLabs.Icmp;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Proxy;
using NetLabs.Video;
using NetLabs.Web;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The judge's side of grading: the student's functions as the lab's batteries expect them (a
/// <see cref="ConnectionHandler"/>, a <see cref="PingExchange"/>, an <see cref="EchoRequestBuilder"/>, …), each call
/// carried to the graded kernel's <see cref="StudentHost"/> and its answer carried back. The batteries themselves — the
/// servers, clients, raw sockets and every verdict — run here, in the judge, where the student's code cannot reach.
/// </summary>
/// <param name="host">Where the graded kernel's <see cref="StudentHost"/> takes calls.</param>
/// <param name="exchangeFolder">A folder the kernel can read, for what the judge hands over as files (the web lab's site).</param>
/// <param name="clip">Lab 7's clip, read by the judge before the graded kernel starts (the kernel could rewrite its copy).</param>
public sealed partial class RemoteGap(IPEndPoint host, string exchangeFolder, MjpegClip? clip = null)
{
    private readonly Dictionary<string, string> _sites = new(StringComparer.Ordinal);

    /// <summary>
    /// The labs the judge grades and their checks: one battery per check cell of the student notebook, named as the
    /// cell names it (<c>// ✅ CHECK: name</c>, the gap's name), in the notebook's order. A lab's grade is all of them.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Checks { get; } = new Dictionary<string, IReadOnlyList<string>>
    {
        [WebStudentChecks.Lab] = ["handle-connection"],
        [PingStudentChecks.Lab] = ["send-one-ping"],
        [MailStudentChecks.Lab] = ["smtp-dialogue"],
        [ProxyStudentChecks.Lab] = ["handle-client"],
        [IcmpStudentChecks.PingerLab] = ["echo-request", "parse-echo-reply"],
        [TracerouteStudentChecks.Lab] = ["traceroute-loop"],
        [VideoStudentChecks.Lab] = ["rtp-header", "rtsp-requests"],
    };

    public static IReadOnlyList<string> Labs { get; } = [.. Checks.Keys];

    /// <summary>The path of lab 7's clip in a copy of the repository.</summary>
    public static string ClipPath(string repository) => Path.Combine(repository, "data", "video", "testsrc-320x240-10fps.mjpeg");

    /// <summary>Runs the battery of <paramref name="check"/> in <paramref name="lab"/> against the remote gap.</summary>
    public Task<ReportCard> RunBatteryAsync(string lab, string check, CancellationToken cancellationToken) => lab == PingStudentChecks.Lab
        ? PingStudentChecks.RunAsync(SendOnePingAsync, StudentSocketOf, cancellationToken)
        : CheckRunner.RunAsync(lab, Battery(lab, check), cancellationToken);

    /// <summary>The checks of one battery, calling this remote gap (the lab's own lists: the notebook's report card).</summary>
    private IReadOnlyList<StudentCheck> Battery(string lab, string check) => (lab, check) switch
    {
        (WebStudentChecks.Lab, _) => WebStudentChecks.Checks(HandleConnectionAsync),
        (PingStudentChecks.Lab, _) => PingStudentChecks.Checks(SendOnePingAsync),
        (MailStudentChecks.Lab, _) => MailStudentChecks.Checks(SendMailAsync),
        (ProxyStudentChecks.Lab, _) => ProxyStudentChecks.Checks(HandleClientAsync),
        (IcmpStudentChecks.PingerLab, "echo-request") => IcmpStudentChecks.EchoRequestChecks(Checksum, BuildEchoRequest),
        (IcmpStudentChecks.PingerLab, "parse-echo-reply") => IcmpStudentChecks.ParseReplyChecks(ParseReply),
        (TracerouteStudentChecks.Lab, _) => TracerouteStudentChecks.Checks(TraceLoopAsync),
        (VideoStudentChecks.Lab, "rtp-header") => VideoStudentChecks.HeaderChecks(WriteRtpHeader, Clip),
        (VideoStudentChecks.Lab, "rtsp-requests") => VideoStudentChecks.ClientChecks(WriteRequest, ReadReply, Clip),
        _ => throw new ArgumentException($"no battery for the check '{check}' of the lab '{lab}'", nameof(check)),
    };

    private MjpegClip Clip => clip ?? throw new InvalidOperationException("the video checks need the clip: the judge reads it before the kernel starts");

    /// <summary>What one offer of the graded kernel came to: the check it ran and its card, or why nothing ran.</summary>
    public sealed record Judged(string? Check, ReportCard? Card, string? Problem);

    /// <summary>
    /// The judge's conversation with a graded kernel's check cell that connected: it says which check it offers and where
    /// its calls go, the battery runs against it, and the kernel is told the card (to show it; the judge keeps the one it
    /// returns). A check already judged, or not one of the lab's, is not run again: the first offer of each counts.
    /// </summary>
    public static async Task<Judged> JudgeAsync(TcpClient kernel, string lab, string exchangeFolder, MjpegClip? clip, IReadOnlyCollection<string> judged,
        CancellationToken cancellationToken)
    {
        var stream = kernel.GetStream();
        Judged result;
        try
        {
            var hello = await GradingWire.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            var check = (string?)hello?["check"];
            if (hello?["port"] is not JsonValue port || !port.TryGetValue<int>(out var number)) result = new(null, null, "the check cell did not offer the function");
            else if (check is null || !Checks[lab].Contains(check)) result = new(null, null, $"the check cell offered '{check}', not a check of {lab}");
            else if (judged.Contains(check)) result = new(null, null, $"'{check}' was offered again; its first offer was graded");
            else
            {
                var gap = new RemoteGap(new IPEndPoint(IPAddress.Loopback, number), exchangeFolder, clip);
                try { result = new(check, await gap.RunBatteryAsync(lab, check, cancellationToken).ConfigureAwait(false), null); }
                finally { gap.CloseIdleCalls(); }
            }
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException or IOException or SocketException or InvalidOperationException)
        {
            return new(null, null, $"the check cell's offer was not understood ({e.Message})");
        }
        try { await GradingWire.WriteAsync(stream, new JsonObject { ["card"] = result.Card?.ToString() ?? result.Problem }, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or SocketException) { }
        return result;
    }

    /// <summary>The card of a check that never reached its battery (it did not compile, the kernel stopped): every check failed.</summary>
    public static ReportCard Unanswered(string lab, string check, string why) =>
        new(lab, new RemoteGap(new IPEndPoint(IPAddress.Loopback, 0), "").Battery(lab, check)
            .Select(c => new CheckResult(c.Name, false, c.Hint, why, TimeSpan.Zero)).ToList());

    /// <summary>The lab's whole card: each check's card in the notebook's order, an unanswered one for each check never offered.</summary>
    public static ReportCard Whole(string lab, IReadOnlyDictionary<string, ReportCard> cards, string why) =>
        new(lab, Checks[lab].SelectMany(check => cards.TryGetValue(check, out var card) ? card.Results : Unanswered(lab, check, why).Results).ToList());

    /// <summary>
    /// Web: the battery's site is copied where the graded kernel can read it (the judge's temporary folder is not),
    /// the kernel serves it with the student's handler, and this handler relays the client's bytes both ways.
    /// </summary>
    private async Task HandleConnectionAsync(WebConnection connection)
    {
        var root = SiteCopy(connection.RealRoot);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reply = await GradingWire.CallAsync(host, new JsonObject { ["kind"] = "web", ["root"] = root }, deadline.Token).ConfigureAwait(false);
        using var student = await GradingWire.ConnectAsync(new IPEndPoint(host.Address, (int)reply["port"]!), deadline.Token).ConfigureAwait(false);
        var toStudent = RelayAsync(connection.Stream, student.GetStream(), () => student.Client.Shutdown(SocketShutdown.Send), deadline.Token);
        // The student's server closing its side ends the exchange; the judge's server then closes the client's.
        await student.GetStream().CopyToAsync(connection.Stream, deadline.Token).ConfigureAwait(false);
        await deadline.CancelAsync().ConfigureAwait(false);
        try { await toStudent.ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    private static async Task RelayAsync(Stream from, Stream to, Action endOfInput, CancellationToken cancellationToken)
    {
        await from.CopyToAsync(to, cancellationToken).ConfigureAwait(false);
        endOfInput();
    }

    private string SiteCopy(string realRoot)
    {
        lock (_sites)
        {
            if (_sites.TryGetValue(realRoot, out var copied)) return copied;
            // The battery's site is its root and what lies beside it (the secret a climbing path must not reach).
            var site = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(realRoot))!;
            var target = Path.Combine(exchangeFolder, "web", _sites.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var file in Directory.GetFiles(site, "*", SearchOption.AllDirectories))
            {
                var copy = Path.Combine(target, Path.GetRelativePath(site, file));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }
            return _sites[realRoot] = Path.Combine(target, Path.GetRelativePath(site, realRoot));
        }
    }

    /// <summary>
    /// Ping: the request goes to the kernel, where the student's function sends the datagrams on a socket of its own,
    /// one per run of the library's loop (that is, per socket the battery hands over here), to the battery's server on
    /// this loopback. Each answer says where that socket is bound, so the battery's "sent on the socket you were given"
    /// compares the server's view with the student's socket, not with the unused one here.
    /// </summary>
    private async Task<PingReply> SendOnePingAsync(Socket socket, PingRequest request, CancellationToken cancellationToken)
    {
        var run = _pingRuns.GetValue(socket, _ => new PingRun(Guid.NewGuid().ToString("N")));
        var reply = await GradingWire.CallAsync(host, new JsonObject
        {
            ["kind"] = "ping", ["run"] = run.Id, ["sequence"] = request.Sequence, ["payload"] = request.Payload, ["server"] = request.Server.ToString(),
            ["timeout"] = request.Timeout.Ticks,
        }, cancellationToken).ConfigureAwait(false);
        if ((string?)reply["local"] is { } local && IPEndPoint.TryParse(local, out var bound)) run.StudentSocket = bound;
        if (reply["null"] is not null) return null!;
        return new PingReply((int)reply["sequence"]!, Enum.Parse<PingOutcome>((string)reply["outcome"]!),
            (long?)reply["rtt"] is { } rtt ? TimeSpan.FromTicks(rtt) : null, (string?)reply["text"],
            (string?)reply["from"] is { } from && IPEndPoint.TryParse(from, out var endPoint) ? endPoint : null);
    }

    private IPEndPoint? StudentSocketOf(Socket socket) => _pingRuns.TryGetValue(socket, out var run) ? run.StudentSocket : null;

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Socket, PingRun> _pingRuns = new();

    /// <summary>One run of the battery's ping loop as the kernel sees it: its id there, and where the student's socket is bound.</summary>
    private sealed class PingRun(string id)
    {
        public string Id { get; } = id;
        public volatile IPEndPoint? StudentSocket;
    }

    /// <summary>
    /// Mail: the battery hands over its connection to the scripted server; the kernel's student dialogue connects to a
    /// relay here, which copies the bytes both ways as they come, so the server sees the student's very writes and the
    /// student sees the server's reply lines with their pauses.
    /// </summary>
    private async Task SendMailAsync(Stream connection, SmtpEnvelope envelope, string message, CancellationToken cancellationToken)
    {
        var relay = new TcpListener(IPAddress.Loopback, 0);
        relay.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var relaying = RelayBytesAsync(relay, connection, stop.Token);
        try
        {
            // CallAsync throws the student's exception again here, so the battery names it as it would in the notebook.
            await GradingWire.CallAsync(host, new JsonObject
            {
                ["kind"] = "mail", ["relay"] = ((IPEndPoint)relay.LocalEndpoint).Port, ["from"] = envelope.From,
                ["to"] = new JsonArray(envelope.To.Select(t => (JsonNode?)t).ToArray()), ["message"] = message,
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            relay.Stop();
            try { await relaying.ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    private static async Task RelayBytesAsync(TcpListener relay, Stream server, CancellationToken cancellationToken)
    {
        using var student = await relay.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        var toServer = RelayAsync(student.GetStream(), server, () => { }, cancellationToken);
        await server.CopyToAsync(student.GetStream(), cancellationToken).ConfigureAwait(false);
        await toServer.ConfigureAwait(false);
    }
}

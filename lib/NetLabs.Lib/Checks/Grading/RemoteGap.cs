using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Web;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The judge's side of grading: the student's function as the lab's battery expects it (a
/// <see cref="ConnectionHandler"/>, a <see cref="PingExchange"/>, a <see cref="SmtpClientDialogue"/>), each call carried
/// to the graded kernel's <see cref="StudentHost"/> and its answer carried back. The battery itself — the servers,
/// clients and every verdict — runs here, in the judge, where the student's code cannot reach.
/// </summary>
public sealed class RemoteGap(IPEndPoint host, string exchangeFolder)
{
    private readonly Dictionary<string, string> _sites = new(StringComparer.Ordinal);

    /// <summary>Runs the battery of <paramref name="lab"/> against the remote gap.</summary>
    public Task<ReportCard> RunBatteryAsync(string lab, CancellationToken cancellationToken) => lab switch
    {
        WebStudentChecks.Lab => WebStudentChecks.RunAsync(HandleConnectionAsync, cancellationToken),
        PingStudentChecks.Lab => PingStudentChecks.RunAsync(SendOnePingAsync, StudentSocketOf, cancellationToken),
        MailStudentChecks.Lab => MailStudentChecks.RunAsync(SendMailAsync, cancellationToken),
        _ => throw new ArgumentException($"no battery for the lab '{lab}'", nameof(lab)),
    };

    /// <summary>
    /// The judge's whole conversation with a graded kernel that connected: it says where its calls go, the battery
    /// runs against it, and the kernel is told the card (to show it; the judge keeps the one it returns).
    /// </summary>
    public static async Task<ReportCard> JudgeAsync(TcpClient kernel, string lab, string exchangeFolder, CancellationToken cancellationToken)
    {
        var stream = kernel.GetStream();
        ReportCard card;
        try
        {
            var hello = await GradingWire.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            card = hello?["port"] is JsonValue port && port.TryGetValue<int>(out var number)
                ? await new RemoteGap(new IPEndPoint(IPAddress.Loopback, number), exchangeFolder).RunBatteryAsync(lab, cancellationToken).ConfigureAwait(false)
                : Unanswered(lab, "the check cell did not offer the function");
        }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException or IOException or SocketException)
        {
            return Unanswered(lab, $"the check cell's offer was not understood ({e.Message})");
        }
        try { await GradingWire.WriteAsync(stream, new JsonObject { ["card"] = card.ToString() }, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or SocketException) { }
        return card;
    }

    /// <summary>The card of a gap that never reached the checks (it did not compile, the kernel stopped): every check failed.</summary>
    public static ReportCard Unanswered(string lab, string why)
    {
        var checks = lab switch
        {
            WebStudentChecks.Lab => WebStudentChecks.Checks(_ => Task.CompletedTask),
            PingStudentChecks.Lab => PingStudentChecks.Checks((_, _, _) => Task.FromResult<PingReply>(null!)),
            MailStudentChecks.Lab => MailStudentChecks.Checks((_, _, _, _) => Task.CompletedTask),
            _ => throw new ArgumentException($"no battery for the lab '{lab}'", nameof(lab)),
        };
        return new ReportCard(lab, checks.Select(c => new CheckResult(c.Name, false, c.Hint, why, TimeSpan.Zero)).ToList());
    }

    public static IReadOnlyList<string> Labs { get; } = [WebStudentChecks.Lab, PingStudentChecks.Lab, MailStudentChecks.Lab];

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

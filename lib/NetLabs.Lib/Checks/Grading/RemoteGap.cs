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
/// <see cref="ConnectionHandler"/>, a <see cref="PingExchange"/>, a <see cref="MailTransaction"/>), each call carried
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
        PingStudentChecks.Lab => PingStudentChecks.RunAsync(SendOnePingAsync, cancellationToken),
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
            PingStudentChecks.Lab => PingStudentChecks.Checks((_, _) => Task.FromResult<PingReply>(null!)),
            MailStudentChecks.Lab => MailStudentChecks.Checks((_, _, _, _) => Task.FromResult<SmtpReply>(null!)),
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

    /// <summary>Ping: the request goes to the kernel, which sends the datagrams itself (to the battery's server, on this loopback).</summary>
    private async Task<PingReply> SendOnePingAsync(PingRequest request, CancellationToken cancellationToken)
    {
        var reply = await GradingWire.CallAsync(host, new JsonObject
        {
            ["kind"] = "ping", ["sequence"] = request.Sequence, ["payload"] = request.Payload, ["server"] = request.Server.ToString(),
            ["timeout"] = request.Timeout.Ticks,
        }, cancellationToken).ConfigureAwait(false);
        if (reply["null"] is not null) return null!;
        return new PingReply((int)reply["sequence"]!, Enum.Parse<PingOutcome>((string)reply["outcome"]!),
            (long?)reply["rtt"] is { } rtt ? TimeSpan.FromTicks(rtt) : null, (string?)reply["text"],
            (string?)reply["from"] is { } from && IPEndPoint.TryParse(from, out var endPoint) ? endPoint : null);
    }

    /// <summary>
    /// Mail: the battery's client is connected (greeting, EHLO); the kernel's own client talks to a relay here, which
    /// passes each command to the battery's client and each whole reply back, and the message after DATA as it comes.
    /// </summary>
    private async Task<SmtpReply> SendMailAsync(SmtpRawClient client, SmtpEnvelope envelope, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var relay = new TcpListener(IPAddress.Loopback, 0);
        relay.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var relaying = RelaySmtpAsync(relay, client, stop.Token);
        try
        {
            var reply = await GradingWire.CallAsync(host, new JsonObject
            {
                ["kind"] = "mail", ["relay"] = ((IPEndPoint)relay.LocalEndpoint).Port, ["from"] = envelope.From,
                ["to"] = new JsonArray(envelope.To.Select(t => (JsonNode?)t).ToArray()), ["message"] = Convert.ToBase64String(message.Span),
            }, cancellationToken).ConfigureAwait(false);
            if (reply["null"] is not null) return null!;
            return new SmtpReply((int)reply["code"]!, reply["lines"]!.AsArray().Select(l => (string?)l ?? "").ToList());
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            relay.Stop();
            try { await relaying.ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or SmtpProtocolException or SmtpCommandException) { }
        }
    }

    private static async Task RelaySmtpAsync(TcpListener relay, SmtpRawClient client, CancellationToken cancellationToken)
    {
        using var tcp = await relay.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        var stream = tcp.GetStream();
        var reader = new SmtpLineReader(stream, 4096);
        async Task Say(string wire) => await stream.WriteAsync(Encoding.UTF8.GetBytes(wire), cancellationToken).ConfigureAwait(false);
        await Say("220 netlabs grading relay\r\n").ConfigureAwait(false);
        var inData = false;
        while (true)
        {
            var status = await reader.ReadLineAsync(1000, cancellationToken).ConfigureAwait(false);
            if (status != SmtpLineStatus.Line) return;
            var line = Encoding.UTF8.GetString(reader.Line.Span);
            if (inData)
            {
                await client.SendRawAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cancellationToken).ConfigureAwait(false);
                if (line != ".") continue;
                inData = false;
                await Say((await client.ReadReplyAsync(cancellationToken).ConfigureAwait(false)).ToWire()).ConfigureAwait(false);
                continue;
            }
            var verb = line.Split(' ', ':')[0].ToUpperInvariant();
            if (verb is "EHLO" or "HELO") { await Say("250 netlabs grading relay\r\n").ConfigureAwait(false); continue; }
            if (verb == "QUIT") { await Say("221 bye\r\n").ConfigureAwait(false); return; }
            var reply = await client.SendCommandAsync(line, cancellationToken: cancellationToken).ConfigureAwait(false);
            await Say(reply.ToWire()).ConfigureAwait(false);
            inData = verb == "DATA" && reply.Code == 354;
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using NetLabs.Mail;
using NetLabs.Ping;
using NetLabs.Web;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The graded notebook's side of <c>netlabs notebooks check</c>. The checker replaces each check cell of the
/// notebook it grades with <c>await StudentHost.ServeAsync(HandleConnection, cts.Token)</c>: instead of checking
/// the student's function here (in the kernel, where the student's own code could forge any result), this offers
/// the function to the checker's judge process, which runs the lab's battery against it through
/// <see cref="RemoteGap"/> and keeps the report card. The kernel only ever learns the card to show it.
/// </summary>
public static class StudentHost
{
    /// <summary>"127.0.0.1:port" of the judge's control socket, set by the checker for the graded kernel only.</summary>
    public const string GraderVariable = "NETLABS_GRADER";

    private static readonly SmtpClientOptions MailOptions = new() { Timeout = TimeSpan.FromSeconds(3) };
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(30);

    public static Task<string> ServeAsync(ConnectionHandler handler, CancellationToken cancellationToken = default) =>
        ServeAsync(new Gap(handler, null, null), cancellationToken);

    public static Task<string> ServeAsync(PingExchange exchange, CancellationToken cancellationToken = default) =>
        ServeAsync(new Gap(null, exchange, null), cancellationToken);

    public static Task<string> ServeAsync(MailTransaction transaction, CancellationToken cancellationToken = default) =>
        ServeAsync(new Gap(null, null, transaction), cancellationToken);

    private sealed record Gap(ConnectionHandler? Web, PingExchange? Ping, MailTransaction? Mail);

    private static Task<string> ServeAsync(Gap gap, CancellationToken cancellationToken)
    {
        var grader = Environment.GetEnvironmentVariable(GraderVariable);
        if (grader is null || !IPEndPoint.TryParse(grader, out var judge))
            return Task.FromResult($"This cell is the checker's: it runs only under `netlabs notebooks check` ({GraderVariable} is not set).");
        return ServeAsync(gap, judge, cancellationToken);
    }

    /// <summary>Offers one of the three gaps to the judge at <paramref name="judge"/> (the tests call this directly).</summary>
    internal static Task<string> ServeAsync(ConnectionHandler? web, PingExchange? ping, MailTransaction? mail, IPEndPoint judge, CancellationToken cancellationToken) =>
        ServeAsync(new Gap(web, ping, mail), judge, cancellationToken);

    private static async Task<string> ServeAsync(Gap gap, IPEndPoint judge, CancellationToken cancellationToken)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var servers = new ConcurrentDictionary<string, WebServer>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var calls = Task.Run(() => AcceptCallsAsync(listener, gap, servers, stop.Token), CancellationToken.None);
        try
        {
            using var control = await GradingWire.ConnectAsync(judge, cancellationToken).ConfigureAwait(false);
            var stream = control.GetStream();
            await GradingWire.WriteAsync(stream, new JsonObject { ["port"] = ((IPEndPoint)listener.LocalEndpoint).Port }, cancellationToken).ConfigureAwait(false);
            // The judge answers once, when its battery is done, with the report card it keeps.
            var done = await GradingWire.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            return (string?)done?["card"] ?? "the checker went away without a report card";
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            listener.Stop();
            try { await calls.ConfigureAwait(false); } catch (OperationCanceledException) { }
            foreach (var server in servers.Values) await server.StopAsync().ConfigureAwait(false);
        }
    }

    private static async Task AcceptCallsAsync(TcpListener listener, Gap gap, ConcurrentDictionary<string, WebServer> servers, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient call;
            try { call = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { return; }
            _ = Task.Run(() => AnswerAsync(call, gap, servers, cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>One call of the judge: run the student's function once and send back what it returned or threw.</summary>
    private static async Task AnswerAsync(TcpClient call, Gap gap, ConcurrentDictionary<string, WebServer> servers, CancellationToken cancellationToken)
    {
        using var _ = call;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(CallLimit);
        var stream = call.GetStream();
        try
        {
            var request = await GradingWire.ReadAsync(stream, limit.Token).ConfigureAwait(false);
            if (request is null) return;
            JsonObject reply;
            try
            {
                reply = (string?)request["kind"] switch
                {
                    "web" when gap.Web is { } web => WebServerFor(web, (string)request["root"]!, servers),
                    "ping" when gap.Ping is { } ping => await PingAsync(ping, request, CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                    "mail" when gap.Mail is { } mail => await MailAsync(mail, request, CancelledWhenClosed(stream, limit)).ConfigureAwait(false),
                    var kind => GradingWire.Error(new InvalidOperationException($"this notebook's gap cannot answer a '{kind}' call")),
                };
            }
            catch (Exception e)
            {
                reply = GradingWire.Error(e);
            }
            await GradingWire.WriteAsync(stream, reply, limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException or System.Text.Json.JsonException)
        {
            // The judge hung up or gave up: nothing to answer.
        }
    }

    /// <summary>The judge closes a call it gave up on: that cancels the student's function like the checks' own token would.</summary>
    private static CancellationToken CancelledWhenClosed(NetworkStream stream, CancellationTokenSource limit)
    {
        _ = Task.Run(async () =>
        {
            try { await stream.ReadAsync(new byte[1], limit.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
            await limit.CancelAsync().ConfigureAwait(false);
        }, CancellationToken.None);
        return limit.Token;
    }

    /// <summary>
    /// The web gap is a server's handler: one concurrent server per site the judge copied for us, with the student's
    /// handler; the judge relays its clients' bytes to it. (Concurrent: the judge's own server decides the mode.)
    /// </summary>
    private static JsonObject WebServerFor(ConnectionHandler handler, string root, ConcurrentDictionary<string, WebServer> servers)
    {
        var server = servers.GetOrAdd(root, r => WebServer.Start(new WebServerOptions
        {
            Root = r, Mode = WebServerMode.Concurrent, Handler = handler, ShutdownTimeout = TimeSpan.FromSeconds(1), HeaderTimeout = TimeSpan.FromSeconds(4),
        }));
        return new JsonObject { ["port"] = server.Port };
    }

    private static async Task<JsonObject> PingAsync(PingExchange exchange, JsonObject request, CancellationToken cancellationToken)
    {
        var ping = new PingRequest((int)request["sequence"]!, (string)request["payload"]!, IPEndPoint.Parse((string)request["server"]!),
            TimeSpan.FromTicks((long)request["timeout"]!));
        var reply = await exchange(ping, cancellationToken).ConfigureAwait(false);
        if (reply is null) return new JsonObject { ["null"] = true };
        return new JsonObject
        {
            ["sequence"] = reply.Sequence, ["outcome"] = reply.Outcome.ToString(), ["rtt"] = reply.Rtt?.Ticks,
            ["text"] = reply.Text, ["from"] = reply.From?.ToString(),
        };
    }

    private static async Task<JsonObject> MailAsync(MailTransaction transaction, JsonObject request, CancellationToken cancellationToken)
    {
        // Connected to the judge's relay, which stands for the checks' mail server after its greeting and EHLO.
        await using var client = new SmtpRawClient(MailOptions);
        await client.ConnectAsync("127.0.0.1", (int)request["relay"]!, cancellationToken: cancellationToken).ConfigureAwait(false);
        var envelope = new SmtpEnvelope((string)request["from"]!, request["to"]!.AsArray().Select(t => (string)t!).ToList());
        var reply = await transaction(client, envelope, Convert.FromBase64String((string)request["message"]!), cancellationToken).ConfigureAwait(false);
        if (reply is null) return new JsonObject { ["null"] = true };
        return new JsonObject { ["code"] = reply.Code, ["lines"] = new JsonArray(reply.Lines.Select(l => (JsonNode?)l).ToArray()) };
    }
}

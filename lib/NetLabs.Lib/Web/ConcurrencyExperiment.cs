using System.Diagnostics;
using System.Globalization;
using NetLabs.Charts;
using NetLabs.Display;

namespace NetLabs.Web;

/// <summary>One client of the experiment: when it started and when its response was complete, from the run's start.</summary>
public sealed record ClientTiming(int Client, bool Slow, TimeSpan Started, TimeSpan Completed, int Status, string? Error = null)
{
    public TimeSpan Duration => Completed - Started;
    public string Label => $"#{Client}{(Slow ? " (slow)" : "")}";
}

/// <summary>The timings of every client of one run against one server.</summary>
public sealed record ConcurrencyRun(string Server, IReadOnlyList<ClientTiming> Clients) : IHtmlDisplay
{
    /// <summary>When the last client was done.</summary>
    public TimeSpan Makespan => Clients.Max(c => c.Completed);

    /// <summary>Mean time a fast client waited for its page.</summary>
    public TimeSpan MeanFastDuration => TimeSpan.FromTicks((long)Clients.Where(c => !c.Slow).DefaultIfEmpty().Average(c => c?.Duration.Ticks ?? 0));

    public string ToHtml() => new HtmlTable($"{Server}: all done after {Seconds(Makespan)} s", ["client", "started (s)", "done (s)", "took (s)", "status"],
        Clients.Select(c => (IReadOnlyList<string>)[c.Label, Seconds(c.Started), Seconds(c.Completed), Seconds(c.Duration), c.Error ?? c.Status.ToString(CultureInfo.InvariantCulture)])).ToHtml();

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}

/// <summary>
/// The lab's concurrency experiment. Some clients are slow: like a person typing a request in telnet, they
/// need <c>slowFor</c> to send it. The other clients are quick and arrive a little later. A sequential server
/// is stuck with the slow client it accepted first, and every quick client waits behind it; a concurrent
/// server answers the quick ones at once.
/// <para>(Why not make every client slow? The kernel completes connections and buffers what clients send
/// before the server accepts them, so slow clients that arrive together overlap even on a sequential server:
/// only the time the server itself spends on a connection is lost. Try it with <c>slowClients = clients</c>.)</para>
/// </summary>
public static class ConcurrencyExperiment
{
    public static async Task<ConcurrencyRun> RunAsync(string serverLabel, string host, int port, string path,
        int clients = 8, int slowClients = 2, TimeSpan? slowFor = null, TimeSpan? quickDelay = null, CancellationToken cancellationToken = default)
    {
        var slowTime = slowFor ?? TimeSpan.FromSeconds(1);
        var delay = quickDelay ?? TimeSpan.FromMilliseconds(100);
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(1, clients).Select(async client =>
        {
            var slow = client <= slowClients;
            if (!slow) await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            var started = clock.Elapsed;
            try
            {
                var exchange = await HttpRawClient.GetAsync(host, port, path, new HttpRawRequestOptions
                {
                    SendDuration = slow ? slowTime : TimeSpan.Zero,
                    Timeout = slowTime * (clients + 1) + TimeSpan.FromSeconds(30),
                }, cancellationToken).ConfigureAwait(false);
                return new ClientTiming(client, slow, started, clock.Elapsed, exchange.StatusCode);
            }
            catch (Exception e) when (e is HttpClientException or System.Net.Sockets.SocketException)
            {
                return new ClientTiming(client, slow, started, clock.Elapsed, 0, e is HttpClientException failed ? failed.Failure.ToString() : e.GetType().Name);
            }
        }).ToList();
        return new ConcurrencyRun(serverLabel, await Task.WhenAll(tasks).ConfigureAwait(false));
    }

    /// <summary>
    /// Grouped bars: for each client, how long it waited for its page, one colour per server. Milliseconds on a
    /// logarithmic axis: a concurrent server's quick clients (a few ms) and a slow one (seconds) are both visible.
    /// Each experiment gets its own <paramref name="title"/>.
    /// </summary>
    public static Chart CompletionChart(string title, params ConcurrencyRun[] runs) =>
        new(title, runs.Select(run =>
            Charts.Trace.Bars(run.Server, run.Clients.Select(c => c.Label), run.Clients.Select(c => Math.Max(c.Duration.TotalMilliseconds, 0.01)))))  // a log axis has no 0
        {
            XTitle = "client",
            YTitle = "ms until its page arrived (log scale)",
            BarMode = "group",
            YLog = true,
        };
}

using System.Diagnostics;

namespace NetLabs.Checks;

/// <summary>
/// Runs a battery of <see cref="StudentCheck"/>s one after the other and turns every outcome into a row of a
/// <see cref="ReportCard"/>: a pass, a wrong answer, an exception of the student's, or code that never finished.
/// Nothing a student's code does escapes from here, so a check cell never breaks the notebook.
/// </summary>
public static class CheckRunner
{
    /// <summary>Extra time a check gets, after its token is cancelled, to stop its servers before we stop waiting for it.</summary>
    private static readonly TimeSpan CleanupGrace = TimeSpan.FromSeconds(3);

    public static async Task<ReportCard> RunAsync(string lab, IEnumerable<StudentCheck> checks, CancellationToken cancellationToken = default)
    {
        var results = new List<CheckResult>();
        foreach (var check in checks)
            results.Add(await RunOneAsync(check, cancellationToken).ConfigureAwait(false));
        return new ReportCard(lab, results);
    }

    public static async Task<CheckResult> RunOneAsync(StudentCheck check, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(check.Timeout);
        // Task.Run: a student's code that loops without ever awaiting must not hold the notebook's thread.
        var running = Task.Run(() => check.Run(timeout.Token), CancellationToken.None);
        try
        {
            var detail = await running.WaitAsync(check.Timeout + CleanupGrace, cancellationToken).ConfigureAwait(false);
            return new CheckResult(check.Name, true, check.Hint, detail, started.Elapsed);
        }
        catch (TimeoutException)
        {
            // The check did not even stop after its token was cancelled: code that loops without looking at the
            // token. We stop waiting; its servers were told to stop when the token was cancelled.
            Observe(running);
            return Failed(check, $"gave up after {check.Timeout.TotalSeconds:0.#} s: the code never finished (an endless loop, or waiting for bytes that never come?); it may still be running: restart the kernel once it is fixed", started);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Failed(check, $"gave up after {check.Timeout.TotalSeconds:0.#} s: no answer in time (waiting for bytes that never come, or a missing reply?)", started);
        }
        catch (CheckFailedException e)
        {
            return Failed(check, e.Message, started);
        }
        catch (NotImplementedException e)
        {
            return Failed(check, $"not written yet ({e.Message})", started);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(check, $"your code threw {e.GetType().Name}: {e.Message}", started);
        }
    }

    private static CheckResult Failed(StudentCheck check, string detail, Stopwatch started) =>
        new(check.Name, false, check.Hint, detail, started.Elapsed);

    private static void Observe(Task task) =>
        task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>Waits for a task of the student's code, failing the check (not hanging) when it does not end in time.</summary>
    public static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Observe(task);
            throw new CheckFailedException($"{what} did not finish within {timeout.TotalSeconds:0.#} s");
        }
    }
}

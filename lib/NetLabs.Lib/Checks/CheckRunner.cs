using System.Diagnostics;
using System.Net.Sockets;

namespace NetLabs.Checks;

/// <summary>
/// Runs a battery of <see cref="StudentCheck"/>s one after the other and turns every outcome into a row of a
/// <see cref="ReportCard"/>: a pass, a wrong answer, an exception of the student's, a timeout of the student's own,
/// the check's own time limit, or code that is still running after its check. Nothing a student's code does escapes
/// from here, so a check cell never breaks the notebook.
/// </summary>
/// <remarks>
/// Two timeouts are told apart by who gave up: the check's limit (<see cref="StudentCheck.Timeout"/>, measured here, on
/// our own clock) and the student's (a <see cref="TimeoutException"/> from <c>WaitAsync</c>, a socket's
/// <c>ReceiveTimeout</c>, a <see cref="CancellationTokenSource"/> of theirs), which is an exception of their code like any
/// other, whenever it comes.
/// </remarks>
public static class CheckRunner
{
    /// <summary>Extra time a check gets, after its token is cancelled, to stop its servers before we stop waiting for it.</summary>
    private static readonly TimeSpan CleanupGrace = TimeSpan.FromSeconds(3);

    /// <summary>After a check, how long the student's calls get to end once their sockets are closed.</summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(1);

    /// <summary>How long the process's CPU time is watched to tell a busy loop from code that only waits.</summary>
    private static readonly TimeSpan CpuSample = TimeSpan.FromMilliseconds(500);

    /// <summary>The process using more than this share of one core while the student's code is left running: a busy loop.</summary>
    private const double BusyShare = 0.25;

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
        StudentCalls? calls = null;
        // A thread of its own (LongRunning): a student's loop that never awaits holds that thread, not one of the pool's
        // nor the notebook's. The count of the student's calls starts on it and follows the check into its servers.
        var running = Task.Factory.StartNew(() =>
        {
            calls = StudentCalls.BeginCounting();
            return check.Run(timeout.Token);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        var limit = Task.Delay(check.Timeout + CleanupGrace, cancellationToken);
        await Task.WhenAny(running, limit).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (!running.IsCompleted)
        {
            // The check did not even stop after its token was cancelled: code that loops without looking at the token.
            // We stop waiting; its servers were told to stop when the token was cancelled.
            Observe(running);
            var still = await StillRunningAsync(calls, checkStuck: true).ConfigureAwait(false);
            return Failed(check, $"gave up after {check.Timeout.TotalSeconds:0.#} s (the check's own limit): your code never finished{still}", started);
        }
        var result = Outcome(check, running, timeout, started);
        var left = await StillRunningAsync(calls, checkStuck: false).ConfigureAwait(false);
        return left.Length == 0 ? result : result with { Detail = result.Detail + left };
    }

    private static CheckResult Outcome(StudentCheck check, Task<string> finished, CancellationTokenSource timeout, Stopwatch started)
    {
        if (finished.IsCompletedSuccessfully)
            return new CheckResult(check.Name, true, check.Hint, finished.Result, started.Elapsed);
        var e = finished.Exception?.InnerException ?? new OperationCanceledException();
        return e switch
        {
            OperationCanceledException when timeout.IsCancellationRequested =>
                Failed(check, $"gave up after {check.Timeout.TotalSeconds:0.#} s (the check's own limit): no answer in time (waiting for bytes that never come, or a missing reply?)", started),
            CheckFailedException failed => Failed(check, failed.Message, started),
            NotImplementedException => Failed(check, $"not written yet ({e.Message})", started),
            _ when IsOwnTimeout(e) => Failed(check, OwnTimeout(e, started.Elapsed, check.Timeout), started),
            _ => Failed(check, $"your code threw {e.GetType().Name}: {e.Message}", started),
        };
    }

    /// <summary>
    /// The exceptions a student's own timeout throws: <c>WaitAsync</c>'s, a cancelled wait's (a token of theirs: the
    /// check's own is told apart by the caller), a blocking socket receive's after its <c>ReceiveTimeout</c>.
    /// </summary>
    public static bool IsOwnTimeout(Exception e) => e is TimeoutException or OperationCanceledException
        || (e is SocketException s && s.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock);

    /// <summary>
    /// "your own timeout fired after 2.7 s, in SendOnePing, waiting in Task.WaitAsync: TimeoutException …": what the
    /// student's code gave up on, and that it was not the check's limit.
    /// </summary>
    /// <param name="e">The student's exception.</param>
    /// <param name="after">How long the student's code had run when it gave up.</param>
    /// <param name="checkLimit">The check's own limit, which was not reached.</param>
    /// <param name="whenNothingComes">What to do about it, e.g. "Catch it and return PingReply.TimedOut(request.Sequence)".</param>
    public static string OwnTimeout(Exception e, TimeSpan after, TimeSpan checkLimit, string whenNothingComes = "Catch it where you wait and do what the lab asks when nothing comes (or wait longer)")
    {
        var (mine, waitedIn) = Frames(e);
        var where = (mine is null ? "" : $", in {mine}") + (waitedIn is null ? "" : $", waiting in {waitedIn}");
        return $"your own timeout fired after {after.TotalSeconds:0.0} s{where}: {e.GetType().Name}: {e.Message} " +
               $"Your code stopped waiting (WaitAsync, a socket's ReceiveTimeout, or a token of yours); the check's own limit is {checkLimit.TotalSeconds:0.#} s and was not reached. " +
               whenNothingComes;
    }

    /// <summary>The student's innermost method in the stack (a notebook's cell is not a library's), and the library call it waited in.</summary>
    private static (string? Mine, string? WaitedIn) Frames(Exception e)
    {
        string? mine = null, waitedIn = null;
        foreach (var frame in new StackTrace(e, false).GetFrames())
        {
            if (frame.GetMethod() is not { DeclaringType: { } type } method) continue;
            var library = IsLibrary(type);
            // The library call it waited in (Socket.ReceiveFrom), not the runtime's plumbing that rethrows at an await.
            var ns = Outer(type).Namespace ?? "";
            if (library && mine is null && waitedIn is null && ns.StartsWith("System", StringComparison.Ordinal)
                && !ns.StartsWith("System.Runtime", StringComparison.Ordinal) && !ns.StartsWith("System.Threading", StringComparison.Ordinal))
                waitedIn = $"{Outer(type).Name}.{MethodName(method.Name, type)}";
            if (!library && mine is null) mine = MethodName(method.Name, type);
        }
        return (mine, waitedIn);
    }

    private static bool IsLibrary(Type type)
    {
        var ns = Outer(type).Namespace ?? "";
        return type.Assembly == typeof(CheckRunner).Assembly || ns.StartsWith("System", StringComparison.Ordinal) || ns.StartsWith("Microsoft", StringComparison.Ordinal);
    }

    private static Type Outer(Type type)
    {
        while (type.DeclaringType is { } outer && type.Name.StartsWith('<')) type = outer;
        return type;
    }

    /// <summary>
    /// An async method's frame is its state machine's MoveNext, in a type named "&lt;SendOnePing&gt;d__3"; a local
    /// function's is "&lt;Outer&gt;g__SendOnePing|2_0".
    /// </summary>
    private static string MethodName(string method, Type type)
    {
        var name = type.Name.StartsWith('<') ? type.Name : method;
        var local = name.LastIndexOf("g__", StringComparison.Ordinal);
        if (local >= 0)
        {
            var end = name.IndexOf('|', local);
            return end > local ? name[(local + 3)..end] : name[(local + 3)..];
        }
        var close = name.IndexOf('>', StringComparison.Ordinal);
        return name.StartsWith('<') && close > 1 ? name[1..close] : name;
    }

    /// <summary>
    /// Empty unless the student's code is left running and burning the CPU (a busy loop): then what the student must
    /// know — it is still running, it ignored the request to stop, and how to stop it. Code that is left waiting costs
    /// nothing and gets no note; nor does a judge whose student code runs in another process (this one is idle then).
    /// </summary>
    private static async Task<string> StillRunningAsync(StudentCalls? calls, bool checkStuck)
    {
        var settle = Stopwatch.StartNew();
        while (!checkStuck && calls is { Running: > 0 } && settle.Elapsed < SettleTime) await Task.Delay(50).ConfigureAwait(false);
        if (!checkStuck && calls is not { Running: > 0 }) return "";
        var share = await CpuShareAsync().ConfigureAwait(false);
        if (share < BusyShare) return "";
        // Each loop holds a thread for good, most often one of the pool's, which adds threads only one at a time, each
        // after half a second of no progress: the checks after this one would wait for them.
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(workers + Math.Max(1, calls?.Running ?? 1), completionPorts);
        return $". ⚠ Your code is still running and using the CPU (this process: {share * 100:0} % of a core): it went on after the check cancelled its token and closed its socket, " +
               "and .NET cannot stop a running thread. Fix the loop (end it when the token is cancelled or a read returns 0), " +
               "then restart the kernel to stop the old one (VS Code: Restart in the notebook's toolbar; Jupyter: Kernel → Restart). " +
               "`netlabs notebooks check` grades in a process of its own and ends it";
    }

    private static async Task<double> CpuShareAsync()
    {
        using var self = Process.GetCurrentProcess();
        var before = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(CpuSample).ConfigureAwait(false);
        self.Refresh();
        return (self.TotalProcessorTime - before) / wall.Elapsed;
    }

    private static CheckResult Failed(StudentCheck check, string detail, Stopwatch started) =>
        new(check.Name, false, check.Hint, detail, started.Elapsed);

    private static void Observe(Task task) =>
        task.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>Waits for a task of the student's code, failing the check (not hanging) when it does not end in time.</summary>
    public static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var limit = Task.Delay(timeout, cancellationToken);
        if (await Task.WhenAny(task, limit).ConfigureAwait(false) == task) return await task.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        Observe(task);
        throw new CheckFailedException($"{what} did not finish within {timeout.TotalSeconds:0.#} s");
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using NetLabs.Checks;
using NetLabs.Checks.Grading;
using NetLabs.Cli.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// The judge of one graded notebook (<c>netlabs notebooks judge</c>, started by <see cref="ClassGrader"/> only): starts
/// the kernel on the graded notebook, waits for its check cell to offer the student's function, runs the lab's
/// battery against it (<see cref="RemoteGap"/>), tells the kernel the card to show, and writes the grade to its own
/// standard output after the secret the checker gave on standard input. The kernel's output is captured here and
/// never passed on, so nothing it prints can look like a grade.
/// </summary>
/// <param name="Scratch">The submission's copy of the repository.</param>
/// <param name="Repository">Where the kernel sees that copy: isolated, at the repository's own path (so the copied build
/// and restore stay up to date and work offline); otherwise the scratch path itself.</param>
/// <param name="Notebook">The graded notebook, relative to the copy; its executed copy goes to <see cref="ExecutedFolder"/> there.</param>
public sealed record GradingJudge(string Lab, string Scratch, string Repository, string Notebook, string Exchange, string Home, TimeSpan Timeout,
    bool Isolated, IReadOnlyList<string> Hidden)
{
    public const string ExecutedFolder = ".executed";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var secret = (await Console.In.ReadLineAsync(cancellationToken))?.Trim();
        if (string.IsNullOrEmpty(secret)) throw new CliFailure("the judge is started by `netlabs notebooks check` only.", 2);
        using var control = new TcpListener(IPAddress.Loopback, 0);
        control.Start();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);

        // Lab 7's clip, read before the kernel starts: the kernel owns the scratch copy and could rewrite it.
        var clip = Lab == NetLabs.Video.VideoStudentChecks.Lab ? NetLabs.Video.MjpegClip.Load(RemoteGap.ClipPath(Scratch)) : null;
        var kernel = RunKernelAsync(((IPEndPoint)control.LocalEndpoint).Port, deadline.Token);
        // Each check cell offers its gap in turn; the judge runs each of the lab's batteries once, for its first offer.
        var cards = new Dictionary<string, ReportCard>(StringComparer.Ordinal);
        string? note = null;
        var why = "the check cell never ran the gap (it did not compile, or the notebook stopped before it)";
        while (cards.Count < RemoteGap.Checks[Lab].Count)
        {
            var accepting = control.AcceptTcpClientAsync(deadline.Token).AsTask();
            if (await Task.WhenAny(accepting, kernel) != accepting || !accepting.IsCompletedSuccessfully) break;
            using var host = accepting.Result;
            try
            {
                var judged = await RemoteGap.JudgeAsync(host, Lab, Exchange, clip, cards.Keys, deadline.Token);
                if (judged is { Check: { } check, Card: { } card }) cards[check] = card;
                else why = judged.Problem ?? why;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                note = $"stopped after {Timeout.TotalSeconds:0} s";
                why = $"the checks did not finish within {Timeout.TotalSeconds:0} s";
                break;
            }
        }
        if (cards.Count < RemoteGap.Checks[Lab].Count) note ??= why;
        var whole = RemoteGap.Whole(Lab, cards, why);
        control.Stop();
        var result = await kernel;
        if (result.TimedOut) note = $"stopped after {Timeout.TotalSeconds:0} s";
        var verdict = new JsonObject { ["lab"] = whole.Lab, ["passed"] = whole.Passed, ["failed"] = whole.Failed, ["note"] = note };
        Console.Out.WriteLine($"{secret} {verdict.ToJsonString()}");
        return 0;
    }

    /// <summary>dotnet-repl on the graded notebook, from its folder; isolated: as nobody, in a mount namespace hiding our files.</summary>
    private async Task<ProcessResult> RunKernelAsync(int controlPort, CancellationToken cancellationToken)
    {
        var notebook = Path.Combine(Repository, Notebook);
        string[] repl = ["dotnet", "tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", Path.Combine(Repository, ExecutedFolder, Path.GetFileName(Notebook))];
        var environment = new Dictionary<string, string>
        {
            [StudentHost.GraderVariable] = $"127.0.0.1:{controlPort}",
            ["DOTNET_GCHeapHardLimit"] = $"0x{ClassGrader.HeapLimit:X}",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1",
            // No build servers that would outlive the notebook.
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["UseSharedCompilation"] = "false",
        };
        string file;
        IEnumerable<string> arguments;
        if (Isolated)
        {
            // The kernel sees the scratch copy at the repository's path, and our home's path (the library's restore
            // records the package folder by path, so the copied build stays a no-op, offline) as an empty home of its
            // own, owned by nobody, with only the copies the checker prepared (the tool resolver cache, NuGet.Config
            // without credentials) and the package folder mounted back read-only. Submissions and reports are hidden
            // under empty tmpfs.
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(home, ".nuget", "packages");
            var parked = Path.Combine(Path.GetDirectoryName(Exchange)!, "parked");
            var nobody = $"{ClassGrader.NobodyId}";
            var sandbox = Path.GetDirectoryName(Scratch)!;
            var commands = new List<string>
            {
                $"mkdir -p {Quote(parked)}", $"mount --bind {Quote(packages)} {Quote(parked)}",
                $"mount -t tmpfs -o size=256m,mode=700,uid={nobody},gid={nobody} tmpfs {Quote(home)}",
                $"cp -R {Quote(Home)}/. {Quote(home)}/", $"chown -R {nobody}:{nobody} {Quote(home)}",
                $"mkdir -p {Quote(packages)}", $"mount --bind {Quote(parked)} {Quote(packages)}", $"mount -o remount,bind,ro {Quote(packages)}",
            };
            commands.AddRange(Hidden.Where(h => h != Repository && !IsWithin(h, Repository) && !IsWithin(h, home))
                .Select(h => $"if [ -d {Quote(h)} ]; then mount -t tmpfs -o size=1m,mode=755 tmpfs {Quote(h)}; fi"));
            // The world-writable folders become private and empty: the kernel writes only to its scratch copy and to
            // these, which vanish with it. The sandbox (under /tmp) is carried over through a bind in the new home.
            var carried = Path.Combine(home, ".sandbox");
            foreach (var shared in SharedWritableFolders.Where(Directory.Exists))
            {
                var inside = IsWithin(sandbox, shared);
                if (inside) commands.AddRange([$"mkdir -p {Quote(carried)}", $"mount --bind {Quote(sandbox)} {Quote(carried)}"]);
                commands.Add($"mount -t tmpfs -o size=512m,mode=1777 tmpfs {Quote(shared)}");
                if (inside) commands.AddRange([$"mkdir -p {Quote(sandbox)}", $"mount --bind {Quote(carried)} {Quote(sandbox)}", $"umount {Quote(carried)}", $"rmdir {Quote(carried)}"]);
            }
            // Last, so a repository that itself lies in one of those folders (a clone under /tmp) is not hidden again.
            commands.AddRange([$"mkdir -p {Quote(Repository)}", $"mount --bind {Quote(Scratch)} {Quote(Repository)}"]);
            commands.AddRange([$"cd {Quote(Path.GetDirectoryName(notebook)!)}", "exec \"$@\""]);
            var script = string.Join(" && ", commands);
            file = "unshare";
            arguments = ["--mount", "--", "sh", "-c", script, "sh", "setpriv", $"--reuid={nobody}", $"--regid={nobody}", "--clear-groups", "--", .. repl];
        }
        else
        {
            file = repl[0];
            arguments = repl[1..];
        }
        try
        {
            return await ChildProcess.RunAsync(file, arguments, Timeout, Path.GetDirectoryName(Path.Combine(Scratch, Notebook)), standardInput: "", environment: environment, cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return new ProcessResult(-1, "", "", TimedOut: true);
        }
    }

    /// <summary>Folders every user may write to on a usual Linux system.</summary>
    private static readonly string[] SharedWritableFolders = ["/tmp", "/var/tmp", "/run/lock", "/dev/shm"];

    private static bool IsWithin(string path, string folder) =>
        Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string Quote(string path) => ClassGrader.Quote(path);
}

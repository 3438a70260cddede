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
public sealed record GradingJudge(string Lab, string Notebook, string ExecutedFolder, string Exchange, string Home, TimeSpan Timeout,
    bool Isolated, IReadOnlyList<string> Hidden)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var secret = (await Console.In.ReadLineAsync(cancellationToken))?.Trim();
        if (string.IsNullOrEmpty(secret)) throw new CliFailure("the judge is started by `netlabs notebooks check` only.", 2);
        using var control = new TcpListener(IPAddress.Loopback, 0);
        control.Start();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);

        var kernel = RunKernelAsync(((IPEndPoint)control.LocalEndpoint).Port, deadline.Token);
        ReportCard card;
        string? note = null;
        var accepting = control.AcceptTcpClientAsync(deadline.Token).AsTask();
        if (await Task.WhenAny(accepting, kernel) == accepting && accepting.IsCompletedSuccessfully)
        {
            using var host = accepting.Result;
            card = await RemoteGap.JudgeAsync(host, Lab, Exchange, deadline.Token);
        }
        else
        {
            note = "the check cell never ran the gap (it did not compile, or the notebook stopped before it)";
            card = RemoteGap.Unanswered(Lab, note);
        }
        control.Stop();
        var result = await kernel;
        if (result.TimedOut) note = $"stopped after {Timeout.TotalSeconds:0} s";
        else if (note is not null && LastLine(result.StandardOutput + result.StandardError) is { } said) note += $"; the kernel said: {said}";
        var verdict = new JsonObject { ["lab"] = card.Lab, ["passed"] = card.Passed, ["failed"] = card.Failed, ["note"] = note };
        Console.Out.WriteLine($"{secret} {verdict.ToJsonString()}");
        return 0;
    }

    /// <summary>dotnet-repl on the graded notebook, from its folder; isolated: as nobody, in a mount namespace hiding our files.</summary>
    private async Task<ProcessResult> RunKernelAsync(int controlPort, CancellationToken cancellationToken)
    {
        string[] repl = ["dotnet", "tool", "run", "dotnet-repl", "--", "--run", Notebook, "--exit-after-run", "--output-path", Path.Combine(ExecutedFolder, Path.GetFileName(Notebook))];
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
            // The kernel keeps our home's path (the library's restore records the package folder by path, so its
            // build stays a no-op offline), but gets an empty one of its own, owned by nobody, with only the copies
            // the checker prepared (the tool resolver cache, NuGet.Config without credentials); the package folder
            // is mounted back read-only. The repository, the submissions and the reports are hidden under empty tmpfs.
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(home, ".nuget", "packages");
            var parked = Path.Combine(Path.GetDirectoryName(Exchange)!, "parked");
            var hide = Hidden.Where(h => !IsWithin(Notebook, h) && Directory.Exists(h) && h != home).Select(h => $"mount -t tmpfs -o size=1m,mode=755 tmpfs {Quote(h)}");
            var nobody = $"{ClassGrader.NobodyId}";
            var script = string.Join(" && ", new[] { $"mkdir -p {Quote(parked)}", $"mount --bind {Quote(packages)} {Quote(parked)}" }
                .Concat(hide)
                .Concat([
                    $"mount -t tmpfs -o size=256m,mode=700,uid={nobody},gid={nobody} tmpfs {Quote(home)}",
                    $"cp -R {Quote(Home)}/. {Quote(home)}/", $"chown -R {nobody}:{nobody} {Quote(home)}",
                    $"mkdir -p {Quote(packages)}", $"mount --bind {Quote(parked)} {Quote(packages)}", $"mount -o remount,bind,ro {Quote(packages)}",
                    "exec \"$@\""]));
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
            return await ChildProcess.RunAsync(file, arguments, Timeout, Path.GetDirectoryName(Notebook), standardInput: "", environment: environment, cancellationToken: cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return new ProcessResult(-1, "", "", TimedOut: true);
        }
    }

    private static string? LastLine(string output)
    {
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0);
        return line is null ? null : line[..Math.Min(line.Length, 200)];
    }

    private static bool IsWithin(string path, string folder) =>
        Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''") + "'";
}

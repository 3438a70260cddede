using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NetLabs.Cli.CommandLine;

namespace NetLabs.Cli.Notebooks;

/// <summary>
/// <c>netlabs notebooks check</c>: grades each submission in its own scratch copy of the repository, which holds no
/// <c>notebooks/student/solutions/</c>, no other submission and no report of ours.
/// <para>
/// Why the grade cannot be forged: the student's code runs only in the graded kernel. The checks run in a separate
/// judge process (<see cref="GradingJudge"/>) that calls the student's function in the kernel over loopback
/// (<see cref="NetLabs.Checks.Grading.RemoteGap"/>) and judges what it does; the judge alone writes the grade, on its
/// standard output (a pipe to us that the kernel does not inherit), in a line that starts with a secret we hand it on
/// its standard input. Nothing the notebook prints or displays, and no cell of the submission other than its gaps, is
/// read back for the grade.
/// </para>
/// <para>
/// Isolation: every OS gets the scratch copy, the time limit (the whole process tree is killed) and a memory limit on
/// the kernel's managed heap (<c>DOTNET_GCHeapHardLimit</c>). On Linux as root the judge and the kernel also run in a
/// fresh network namespace with only loopback, the kernel as user nobody in its own mount namespace where the
/// repository, the submissions, the output folder and the checker's home are hidden (the NuGet package folder is
/// mounted back, read-only), and all of it in a memory cgroup.
/// </para>
/// </summary>
public sealed class ClassGrader(string repositoryRoot, TimeSpan timeout, string? solutionsFolder, string? lab, IReadOnlyList<string> hidden) : IDisposable
{
    // run/ (ours, rwxr-xr-x): pristine/ is the repository copy built once; scratch/ is a fresh copy of it per submission
    // (the kernel's: owned by nobody when isolated), at one fixed path so the copied build and restore stay up to date;
    // submission/ holds what the judge and the kernel's home need for one submission (read-only for the kernel).
    private readonly DirectoryInfo _run = Directory.CreateTempSubdirectory("netlabs-grade-");
    private string Pristine => Path.Combine(_run.FullName, "pristine");
    private string Scratch => Path.Combine(_run.FullName, "scratch");

    /// <summary>The kernel's managed heap, at most.</summary>
    public const long HeapLimit = 1536L << 20;
    /// <summary>The judge, the kernel and the builds it starts together, at most (Linux as root: a memory cgroup).</summary>
    public const long MemoryLimit = 3L << 30;
    public const int NobodyId = 65534;

    private static readonly string[] RepositoryParts = [".config", "data", "lib", "notebooks", "Directory.Build.props", "Directory.Packages.props", "NuGet.config", "nuget.config", "global.json"];

    /// <summary>Linux as root: a separate user, network and mount namespaces, a memory cgroup (NETLABS_GRADING_ISOLATION=off: as elsewhere).</summary>
    public static bool Isolated => OperatingSystem.IsLinux() && Environment.UserName == "root"
        && Environment.GetEnvironmentVariable("NETLABS_GRADING_ISOLATION") != "off";

    /// <summary>
    /// Restores the pinned kernel and makes the pristine copy of the repository (without solutions, tests or .git)
    /// with the library built, with our rights and network, at the path where the kernels will see their copies:
    /// isolated, the repository's own path (the copy mounted there in a mount namespace of the build's own);
    /// otherwise the scratch path. The notebook's build cell then finds everything up to date and needs no network.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        ReadableByAll(_run.FullName);
        await NotebookRunner.RestoreToolsAsync(repositoryRoot, cancellationToken);
        CopyRepository(Scratch);
        var cache = BuildCache();
        CopyBuild(cache, Scratch);
        var (file, arguments) = Isolated
            ? ("unshare", (string[])["--mount", "--", "sh", "-c", $"mount --bind {Quote(Scratch)} {Quote(repositoryRoot)} && cd {Quote(repositoryRoot)} && exec \"$@\"", "sh",
                "dotnet", "build", Path.Combine("lib", "NetLabs.Lib"), "-c", "Release", "-nologo", "-v", "q"])
            : ("dotnet", ["build", Path.Combine("lib", "NetLabs.Lib"), "-c", "Release", "-nologo", "-v", "q"]);
        var build = await ChildProcess.RunAsync(file, arguments, TimeSpan.FromMinutes(5), Scratch, standardInput: "", cancellationToken: cancellationToken);
        if (build.ExitCode != 0) throw new CliFailure($"lib/NetLabs.Lib did not build: {build.StandardOutput.Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal))?.Trim()}");
        Delete(cache);
        CopyBuild(Scratch, cache);
        Directory.Move(Scratch, Pristine);
    }

    /// <summary>
    /// Where the last check run of this repository left its build: the copy has no .git, so its build differs from
    /// the repository's own (the commit id is part of the assembly's version) and would be compiled again each time.
    /// Ours only (rwx------).
    /// </summary>
    private string BuildCache()
    {
        var key = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{repositoryRoot}|{Isolated}")))[..16];
        var cache = Path.Combine(Path.GetTempPath(), $"netlabs-grading-build-{key}");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(cache);
        else Directory.CreateDirectory(cache, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return cache;
    }

    /// <summary>The bin/ and obj/ folders of the projects under lib/, from one copy to another (times kept).</summary>
    private static void CopyBuild(string from, string to)
    {
        var lib = Path.Combine(from, "lib");
        if (!Directory.Exists(lib)) return;
        foreach (var project in Directory.GetDirectories(lib))
            foreach (var output in new[] { "bin", "obj" }.Select(o => Path.Combine(project, o)).Where(Directory.Exists))
                CopyFolder(output, Path.Combine(to, Path.GetRelativePath(from, output)), []);
    }

    /// <summary>A path for sh, in single quotes.</summary>
    internal static string Quote(string path) => "'" + path.Replace("'", "'\\''") + "'";

    public async Task<NotebookCheck> CheckAsync(string submission, string outputFolder, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(submission);
        var (graded, problem) = Submission.Prepare(submission, Path.Combine(repositoryRoot, "notebooks", "student"), solutionsFolder, lab);
        if (graded is null) return new NotebookCheck(name, "?", 0, 0, 0, TimeSpan.Zero, problem);

        var started = Stopwatch.StartNew();
        var own = Path.Combine(_run.FullName, "submission");
        var cgroup = Isolated ? MemoryCgroup.TryCreate(Path.GetFileName(_run.FullName), MemoryLimit) : null;
        try
        {
            CopyFolder(Pristine, Scratch, []);
            var notebook = Path.Combine("notebooks", "student", graded.Lab + ".ipynb");
            await File.WriteAllTextAsync(Path.Combine(Scratch, notebook), graded.Notebook.ToJsonString(), cancellationToken);
            var executedFolder = Directory.CreateDirectory(Path.Combine(Scratch, GradingJudge.ExecutedFolder)).FullName;
            ReadableByAll(Directory.CreateDirectory(own).FullName);
            var home = Directory.CreateDirectory(Path.Combine(own, "home")).FullName;
            var exchange = Directory.CreateDirectory(Path.Combine(own, "exchange")).FullName;
            if (Isolated)
            {
                KernelHome.Prepare(home);
                await RunAsync("chown", ["-R", $"{NobodyId}:{NobodyId}", Scratch], cancellationToken);
            }

            var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            string[] judgeArguments = [.. NetlabsCommand(), "notebooks", "judge", "--lab", graded.Lab, "--scratch", Scratch,
                "--repository", Isolated ? repositoryRoot : Scratch, "--notebook", notebook,
                "--exchange", exchange, "--home", home, "--timeout", ((int)timeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. Isolated ? (string[])["--isolated", .. hidden.SelectMany(h => (string[])["--hide", h])] : []];
            var (file, arguments) = Isolated
                ? ("unshare", (string[])["--net", "--", "sh", "-c", $"ip link set lo up && {cgroup?.JoinCommand ?? "true"} && exec \"$@\"", "sh", .. judgeArguments])
                : (judgeArguments[0], judgeArguments[1..]);
            var judged = await ChildProcess.RunAsync(file, arguments, timeout + TimeSpan.FromSeconds(90), own, standardInput: secret + "\n",
                cancellationToken: cancellationToken);
            var verdict = judged.StandardOutput.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(secret + " ", StringComparison.Ordinal));
            if (verdict is null)
                return new NotebookCheck(name, graded.Lab, 0, 0, 0, started.Elapsed,
                    $"could not be graded ({(judged.TimedOut ? "timed out" : $"judge exit code {judged.ExitCode}")}): {judged.StandardError.Split('\n').FirstOrDefault()?.Trim()}");
            var card = JsonNode.Parse(verdict[(secret.Length + 1)..])!;

            var errors = 0;
            var executed = Path.Combine(executedFolder, graded.Lab + ".ipynb");
            if (File.Exists(executed) && new FileInfo(executed).Length < 64 << 20)
            {
                try
                {
                    var document = JsonNode.Parse(await File.ReadAllTextAsync(executed, cancellationToken))!;
                    errors = NotebookRunner.ErrorsIn(document).Count;
                    Directory.CreateDirectory(outputFolder);
                    var copy = Path.Combine(outputFolder, name);
                    await File.WriteAllTextAsync(copy, document.ToJsonString(), cancellationToken);
                    await File.WriteAllTextAsync(Path.ChangeExtension(copy, ".html"), NotebookHtml.Render(document, Path.GetFileNameWithoutExtension(name)), cancellationToken);
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
                {
                    errors = 1; // the kernel wrote something that is no notebook: not the grade's business, but not clean either
                }
            }
            return new NotebookCheck(name, graded.Lab, (int)card["passed"]!, (int)card["failed"]!, errors, started.Elapsed, null)
            {
                Note = (string?)card["note"],
            };
        }
        finally
        {
            cgroup?.Dispose();
            Delete(Scratch);
            Delete(own);
        }
    }

    public void Dispose() => Delete(_run.FullName);

    private static void Delete(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>How to start this very program again: the apphost, or dotnet and our dll.</summary>
    private static string[] NetlabsCommand()
    {
        var process = Environment.ProcessPath!;
        var dll = typeof(ClassGrader).Assembly.Location;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, dll] : [process];
    }

    /// <summary>What the notebooks need from the repository — never solutions/, tests, .git, artifacts or the CLI.</summary>
    private void CopyRepository(string scratch)
    {
        // Submissions or reports kept inside the repository stay out too (the folders the notebooks need excepted).
        var needed = new[] { repositoryRoot, Path.Combine(repositoryRoot, "notebooks"), Path.Combine(repositoryRoot, "notebooks", "student") }.Select(Path.GetFullPath);
        var excluded = hidden.Select(Path.GetFullPath).Except(needed)
            .Append(Path.GetFullPath(Path.Combine(repositoryRoot, "notebooks", "student", "solutions")))
            .Append(Path.GetFullPath(Path.Combine(repositoryRoot, "lib", "NetLabs.Cli"))).ToList();
        foreach (var part in RepositoryParts)
        {
            var source = Path.Combine(repositoryRoot, part);
            if (File.Exists(source)) CopyFile(source, Path.Combine(scratch, part));
            else if (Directory.Exists(source)) CopyFolder(source, Path.Combine(scratch, part), excluded);
        }
    }

    internal static void CopyFolder(string source, string target, IReadOnlyList<string> excluded)
    {
        if (excluded.Contains(Path.TrimEndingDirectorySeparator(Path.GetFullPath(source)))) return;
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
            if (!excluded.Contains(Path.GetFullPath(file))) CopyFile(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(source))
            CopyFolder(folder, Path.Combine(target, Path.GetFileName(folder)), excluded);
    }

    /// <summary>With its time, so the copied build stays up to date and the notebook's build cell has nothing to do.</summary>
    private static void CopyFile(string source, string target)
    {
        File.Copy(source, target, overwrite: true);
        File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(source));
    }

    /// <summary>rwxr-xr-x: the kernel may read, never write (a temporary folder starts as rwx------).</summary>
    private static void ReadableByAll(string folder)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
                | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static async Task RunAsync(string file, string[] arguments, CancellationToken cancellationToken)
    {
        var result = await ChildProcess.RunAsync(file, arguments, TimeSpan.FromMinutes(1), standardInput: "", cancellationToken: cancellationToken);
        if (result.ExitCode != 0) throw new CliFailure($"{file} {string.Join(' ', arguments)} failed: {result.StandardError.Trim()}");
    }
}

/// <summary>A memory cgroup (v2 or v1) for one graded submission; disposing kills what is left in it and removes it.</summary>
public sealed class MemoryCgroup : IDisposable
{
    private readonly string _path;

    private MemoryCgroup(string path) => _path = path;

    /// <summary>The shell command that moves the shell running it (and so everything it starts) into the group.</summary>
    public string JoinCommand => $"echo $$ > {_path}/cgroup.procs";

    public static MemoryCgroup? TryCreate(string name, long limit)
    {
        var (root, limitFile) = File.Exists("/sys/fs/cgroup/cgroup.controllers") ? ("/sys/fs/cgroup", "memory.max")
            : Directory.Exists("/sys/fs/cgroup/memory") ? ("/sys/fs/cgroup/memory", "memory.limit_in_bytes") : (null, null);
        if (root is null) return null;
        try
        {
            var path = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
            File.WriteAllText(Path.Combine(path, limitFile!), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new MemoryCgroup(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            foreach (var pid in File.ReadAllLines(Path.Combine(_path, "cgroup.procs")))
                try { Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
            for (var attempt = 0; attempt < 50 && Directory.Exists(_path); attempt++)
            {
                try { Directory.Delete(_path); } catch (IOException) { Thread.Sleep(100); }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}

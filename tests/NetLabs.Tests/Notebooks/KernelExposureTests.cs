using System.Net;
using System.Text.Json.Nodes;
using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Notebooks;

/// <summary>
/// The .NET kernel runs any code sent to its HTTP API, unauthenticated. These tests look at every socket a running
/// kernel listens on, and try to reach them from a second host (a network namespace joined by a veth pair): with
/// NetLabs' kernelspec nothing is reachable; with the stock one it is (so the test notices if the option stops
/// working). Traffic goes only to the test's own namespaces.
/// </summary>
[Collection(RealKernel.Collection)]
public sealed class KernelExposureTests(RealKernel kernel)
{
    [SkippableFact]
    public async Task Jupyter_kernel_from_netlabs_jupyter_install_listens_on_loopback_only_and_is_unreachable_from_another_host()
    {
        var nbconvert = ExternalProcess.Require("jupyter-nbconvert", "jupyter-nbconvert python3-nbclient python3-ipykernel");
        await using var hosts = await TwoHosts.CreateAsync();
        using var jupyter = new TemporaryFolder("netlabs-jupyter-");
        var install = await NetlabsTool.RunAsync(TimeSpan.FromMinutes(1), "jupyter", "install", "--path", Path.Combine(jupyter.Path, "kernels"));
        Assert.True(install.ExitCode == 0, install.ToString());

        var reachable = new List<int>();
        var listening = await WhileAJupyterKernelRunsAsync(nbconvert, jupyter.Path, hosts, async sockets =>
        {
            foreach (var socket in sockets)
                if (await ReachableFromClientAsync(hosts, socket.Port)) reachable.Add(socket.Port);
        });

        Assert.NotEmpty(listening); // the ZMQ channels and the HTTP API at least
        Assert.All(listening, socket => Assert.True(IPAddress.IsLoopback(socket.Address), $"kernel listens on {socket}: not loopback"));
        Assert.True(reachable.Count == 0, $"port(s) {string.Join(", ", reachable)} of the kernel were reachable from the other host");
    }

    [SkippableFact]
    public async Task The_stock_kernelspec_is_shown_to_listen_beyond_loopback_so_the_test_above_would_notice()
    {
        var nbconvert = ExternalProcess.Require("jupyter-nbconvert", "jupyter-nbconvert python3-nbclient python3-ipykernel");
        await using var hosts = await TwoHosts.CreateAsync();
        using var jupyter = new TemporaryFolder("netlabs-jupyter-");
        Directory.CreateDirectory(Path.Combine(jupyter.Path, "kernels"));
        var install = await ExternalProcess.RunAsync("dotnet", ["tool", "run", "dotnet-interactive", "--", "jupyter", "install", "--path", Path.Combine(jupyter.Path, "kernels")],
            TimeSpan.FromMinutes(2), workingDirectory: RepoPaths.Root);
        Assert.True(install.ExitCode == 0, install.ToString());

        var reachable = false;
        var listening = await WhileAJupyterKernelRunsAsync(nbconvert, jupyter.Path, hosts, async sockets =>
        {
            if (sockets.FirstOrDefault(s => s.Address.Equals(hosts.ServerAddress)) is { } exposed)
                reachable = await ReachableFromClientAsync(hosts, exposed.Port);
        });

        Assert.Contains(listening, s => s.Address.Equals(hosts.ServerAddress));
        Assert.True(reachable, "the stock kernel listens on the host's address, yet its port was not reachable from the other host");
    }

    [Fact]
    public async Task The_headless_runner_of_notebooks_run_and_check_opens_no_port()
    {
        using var scratch = new TemporaryFolder("netlabs-repl-");
        var (notebook, pidFile, goFile) = PausingNotebook(scratch.Path);
        try
        {
            var run = kernel.Serialized(() => new NotebookRunner(TimeSpan.FromMinutes(3)).RunAsync(notebook, Path.Combine(scratch.Path, "out"), CancellationToken.None));
            var pid = await WaitForPidAsync(pidFile, run);
            var listening = await ListeningSocketsAsync(null, pid);
            await File.WriteAllTextAsync(goFile, "go");
            var result = await run.WaitAsync(TimeSpan.FromMinutes(3));
            Assert.True(result.Succeeded, result.Describe());
            Assert.Empty(listening);
        }
        finally
        {
            File.Delete(notebook);
        }
    }

    /// <summary>
    /// Runs a pausing notebook under Jupyter (nbconvert) inside the server namespace, lists the kernel's listening sockets,
    /// and calls <paramref name="probe"/> with them while the kernel still runs.
    /// </summary>
    private async Task<IReadOnlyList<IPEndPoint>> WhileAJupyterKernelRunsAsync(string nbconvert, string jupyterPath, TwoHosts hosts,
        Func<IReadOnlyList<IPEndPoint>, Task> probe)
    {
        var (notebook, pidFile, goFile) = PausingNotebook(jupyterPath);
        try
        {
            // Jupyter starts the kernel in the notebook's folder: inside the repository, where `dotnet interactive` finds the pinned tool.
            var run = kernel.Serialized(() => ExternalProcess.RunAsync("ip",
                TwoHosts.InNamespace(hosts.ServerNamespace, nbconvert,
                    ["--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=.net-csharp", "--ExecutePreprocessor.timeout=180",
                     "--output-dir", Path.Combine(jupyterPath, "out"), Path.GetFileName(notebook)]),
                TimeSpan.FromMinutes(4), workingDirectory: RepoPaths.Notebooks,
                environment: new Dictionary<string, string> { ["JUPYTER_PATH"] = jupyterPath }));
            var pid = await WaitForPidAsync(pidFile, run);
            var listening = await ListeningSocketsAsync(hosts.ServerNamespace, pid);
            try { await probe(listening); }
            finally { await File.WriteAllTextAsync(goFile, "go"); }
            var result = await run.WaitAsync(TimeSpan.FromMinutes(4));
            Assert.True(result.ExitCode == 0, result.ToString());
            return listening;
        }
        finally
        {
            File.Delete(notebook);
        }
    }

    /// <summary>
    /// A notebook (hidden, in notebooks/) whose one cell writes the kernel's process id and then waits, at most 2 minutes,
    /// for a file saying go: the kernel is up and idle-listening while the test looks at it.
    /// </summary>
    private static (string Notebook, string PidFile, string GoFile) PausingNotebook(string scratch)
    {
        var pidFile = Path.Combine(scratch, "kernel.pid");
        var goFile = Path.Combine(scratch, "go");
        var source = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Notebooks, "00-getting-started.ipynb")))!;
        var cell = source["cells"]!.AsArray().First(c => (string?)c!["cell_type"] == "code")!.DeepClone();
        cell["source"] = new JsonArray(
            $"System.IO.File.WriteAllText(@\"{pidFile}\", System.Environment.ProcessId.ToString());\n",
            "var deadline = System.DateTime.UtcNow.AddMinutes(2);\n",
            $"while (!System.IO.File.Exists(@\"{goFile}\") && System.DateTime.UtcNow < deadline) await System.Threading.Tasks.Task.Delay(50);");
        source["cells"] = new JsonArray(cell);
        var notebook = Path.Combine(RepoPaths.Notebooks, $".exposure-{Guid.NewGuid():N}.ipynb");
        File.WriteAllText(notebook, source.ToJsonString());
        return (notebook, pidFile, goFile);
    }

    private static async Task<int> WaitForPidAsync(string pidFile, Task run)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (!File.Exists(pidFile) || (await File.ReadAllTextAsync(pidFile)).Length == 0)
        {
            if (run.IsCompleted) Assert.Fail("the notebook ended before its kernel said its process id: " + await ResultOf(run));
            await Task.Delay(100, timeout.Token);
        }
        return int.Parse(await File.ReadAllTextAsync(pidFile));
    }

    private static async Task<string> ResultOf(Task run)
    {
        await run;
        return run switch
        {
            Task<ProcessResult> process => process.Result.ToString(),
            Task<NotebookRun> notebook => notebook.Result.Describe(),
            _ => "",
        };
    }

    /// <summary>Every TCP and UDP socket the process listens on, as `ss` (iproute2) reports them, in a namespace or here.</summary>
    private static async Task<IReadOnlyList<IPEndPoint>> ListeningSocketsAsync(string? inNamespace, int pid)
    {
        var ss = ExternalProcess.Require("ss", "iproute2");
        string[] arguments = ["-H", "-l", "-t", "-u", "-n", "-p"];
        var result = inNamespace is null
            ? await ExternalProcess.RunAsync(ss, arguments, TimeSpan.FromSeconds(20))
            : await ExternalProcess.RunAsync("ip", TwoHosts.InNamespace(inNamespace, ss, arguments), TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput.Split('\n')
            .Where(line => line.Contains($"pid={pid},", StringComparison.Ordinal))
            .Select(line => ParseEndPoint(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]))
            .ToList();
    }

    /// <summary>`127.0.0.1:2048`, `127.0.0.1%lo:2048`, `[::1]:2048`, `[::ffff:127.0.0.1]:2048`, `*:2048`, `0.0.0.0:2048`.</summary>
    internal static IPEndPoint ParseEndPoint(string local)
    {
        var colon = local.LastIndexOf(':');
        var host = local[..colon];
        if (host.IndexOf('%') is var scope and >= 0) host = host[..scope];
        host = host.Trim('[', ']');
        var address = host == "*" ? IPAddress.IPv6Any
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new FormatException($"ss reported a local address this test cannot read: '{local}'");
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return new IPEndPoint(address, int.Parse(local[(colon + 1)..]));
    }

    /// <summary>True when a TCP connection from the client namespace to the server's address and this port succeeds.</summary>
    private static async Task<bool> ReachableFromClientAsync(TwoHosts hosts, int port)
    {
        var connect = await ExternalProcess.RunAsync("ip",
            TwoHosts.InNamespace(hosts.ClientNamespace, "timeout", ["5", "bash", "-c", $"exec 3<>/dev/tcp/{hosts.ServerAddress}/{port}"]),
            TimeSpan.FromSeconds(20));
        return connect.ExitCode == 0;
    }

    private sealed class TemporaryFolder : IDisposable
    {
        private readonly DirectoryInfo _folder;
        public TemporaryFolder(string prefix) => _folder = Directory.CreateTempSubdirectory(prefix);
        public string Path => _folder.FullName;
        public void Dispose() => _folder.Delete(recursive: true);
    }
}

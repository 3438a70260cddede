using System.Diagnostics;
using System.Text;

namespace NetLabs.Tests.Support;

/// <summary>
/// A long-running peer or server process (nginx, smtp-sink, `netlabs … serve`) started for a test: its output is
/// collected, <see cref="WaitForLineAsync"/> waits (bounded) for a line such as "listening on …", and disposing stops
/// it (Ctrl+C first, so a clean shutdown can be checked, then kill).
/// </summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private BackgroundProcess(Process process) => _process = process;

    public static BackgroundProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var background = new BackgroundProcess(process);
        process.OutputDataReceived += (_, e) => background.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => background.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return background;
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Waits for the first output line (past or future) that matches, or fails with all output so far.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var existing = _output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(match);
            if (existing is not null) return existing;
            _waiters.Add((match, found));
        }
        var exited = _process.WaitForExitAsync();
        var done = await Task.WhenAny(found.Task, exited, Task.Delay(timeout));
        if (done == found.Task) return await found.Task;
        throw new TimeoutException($"{_process.StartInfo.FileName} {(done == exited ? $"exited ({_process.ExitCode})" : "timed out")} before the expected line. Output:\n{Output}");
    }

    /// <summary>
    /// Sends one signal (SIGINT is what Ctrl+C sends; SIGTERM what a service manager sends) and waits for the exit code.
    /// </summary>
    public async Task<int> SignalAsync(TimeSpan timeout, string signal = "INT")
    {
        if (!_process.HasExited)
            await ExternalProcess.RunAsync("kill", ["-" + signal, _process.Id.ToString()], TimeSpan.FromSeconds(10));
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Found.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(deadline.Token);
            }
        }
        catch (InvalidOperationException) { }
        catch (OperationCanceledException) { }
        _process.Dispose();
    }
}

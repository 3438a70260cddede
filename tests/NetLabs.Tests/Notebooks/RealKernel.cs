using NetLabs.Cli.Notebooks;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Notebooks;

/// <summary>
/// Shared by the tests that start the real kernel: they run one at a time (each kernel builds the library in
/// Release and takes a core), and each notebook runs once even when several tests look at its result.
/// </summary>
public sealed class RealKernel
{
    public const string Collection = "real .NET Interactive kernel";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly Dictionary<string, Task<NotebookRun>> _runs = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _toolsReady;

    public string OutputDirectory { get; } = Path.Combine(RepoPaths.Artifacts, "notebook-tests");

    public Task<NotebookRun> RunAsync(string notebook)
    {
        lock (_runs)
        {
            if (!_runs.TryGetValue(notebook, out var run))
                _runs[notebook] = run = RunOnceAsync(notebook);
            return run;
        }
    }

    private Task<NotebookRun> RunOnceAsync(string notebook) =>
        Serialized(() => new NotebookRunner(Timeout).RunAsync(notebook, OutputDirectory, CancellationToken.None));

    /// <summary>Runs work that starts a kernel (or builds the library in Release) alone, after the tools are restored.</summary>
    public async Task<T> Serialized<T>(Func<Task<T>> work)
    {
        await _gate.WaitAsync();
        try
        {
            if (!_toolsReady) await NotebookRunner.RestoreToolsAsync(RepoPaths.Root, CancellationToken.None);
            _toolsReady = true;
            return await work();
        }
        finally
        {
            _gate.Release();
        }
    }
}

[CollectionDefinition(RealKernel.Collection)]
public sealed class RealKernelCollection : ICollectionFixture<RealKernel>;

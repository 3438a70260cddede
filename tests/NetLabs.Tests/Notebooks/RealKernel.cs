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
    private readonly SemaphoreSlim _restored = new(1, 1);
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

    private async Task<NotebookRun> RunOnceAsync(string notebook)
    {
        await _restored.WaitAsync();
        try
        {
            if (!_toolsReady) await NotebookRunner.RestoreToolsAsync(RepoPaths.Root, CancellationToken.None);
            _toolsReady = true;
            return await new NotebookRunner(Timeout).RunAsync(notebook, OutputDirectory, CancellationToken.None);
        }
        finally
        {
            _restored.Release();
        }
    }
}

[CollectionDefinition(RealKernel.Collection)]
public sealed class RealKernelCollection : ICollectionFixture<RealKernel>;

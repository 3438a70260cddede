using NetLabs.Tests.Support;

namespace NetLabs.Tests.Ping;

internal static class PingTestSupport
{
    /// <summary>Every await in these tests is bounded by this.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>The python peers live next to this file in the source tree (read in place, nothing to copy).</summary>
    public static string Script(string name) => Path.Combine(RepoPaths.Root, "tests", "NetLabs.Tests", "Ping", name);

    public static string RequirePython() => ExternalProcess.Require("python3", "python3");

    /// <summary>Polls until <paramref name="condition"/> holds; false after <paramref name="timeout"/>.</summary>
    public static Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null) => Poll.UntilAsync(condition, timeout ?? Bound);

    /// <summary>Waits (bounded) for a peer to write its port into a file.</summary>
    public static async Task<int> ReadPortFileAsync(string path, Task<ProcessResult> peer)
    {
        Assert.True(await WaitUntilAsync(() => File.Exists(path) || peer.IsCompleted), "the peer never wrote its port");
        Assert.True(File.Exists(path), "the peer exited before listening: " + (peer.IsCompleted ? peer.Result.ToString() : ""));
        return int.Parse(await File.ReadAllTextAsync(path));
    }

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var list = new List<T>();
        await foreach (var item in items.WithCancellation(timeout.Token)) list.Add(item);
        return list;
    }
}

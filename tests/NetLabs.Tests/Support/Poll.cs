using System.Diagnostics;

namespace NetLabs.Tests.Support;

/// <summary>Bounded polling, for what happens on a server's own schedule (a log entry written after its response, a timeout).</summary>
public static class Poll
{
    /// <summary>Polls until <paramref name="condition"/> holds; false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(start) > timeout) return false;
            await Task.Delay(10);
        }
        return true;
    }
}


namespace NetLabs.Tests.Support;

/// <summary>Real peer programs for the tests: found on PATH, run with a bounded wait, skipped with a clear message when missing.</summary>
public static class ExternalProcess
{
    public static Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, string? standardInput = null, IDictionary<string, string>? environment = null,
        CancellationToken cancellationToken = default) =>
        ChildProcess.RunAsync(fileName, arguments, timeout, workingDirectory, standardInput, environment, cancellationToken);

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? Find(string program)
    {
        if (Path.IsPathRooted(program)) return File.Exists(program) ? program : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var dir in new[] { "/usr/sbin", "/sbin", "/usr/lib/postfix/sbin" })
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Skips the calling [SkippableFact] with a clear message when a peer program is not installed.</summary>
    public static string Require(string program, string debianPackage)
    {
        var path = Find(program);
        Skip.If(path is null, $"{program} is not installed (apt-get install {debianPackage}); .ci/run installs it.");
        return path!;
    }
}

namespace NetLabs.Tests.Support;

/// <summary>The built `netlabs` command (netlabs.dll next to the tests, from the project reference), run as users run it.</summary>
public static class NetlabsTool
{
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "netlabs.dll");

    public static IEnumerable<string> Arguments(params string[] arguments) => [Dll, .. arguments];

    public static Task<ProcessResult> RunAsync(TimeSpan timeout, params string[] arguments) =>
        ExternalProcess.RunAsync("dotnet", Arguments(arguments), timeout);

    public static BackgroundProcess Start(params string[] arguments) => BackgroundProcess.Start("dotnet", Arguments(arguments));
}

using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;

namespace NetLabs.Cli.CommandLine;

/// <summary>A failure the user can act on: printed as one line, "netlabs: reason", with a non-zero exit code.</summary>
public sealed class CliFailure(string reason, int exitCode = 1) : Exception(reason)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Runs a command's body: Ctrl+C stops it cleanly (exit 130), any failure becomes one line on stderr.</summary>
public static class CliRunner
{
    /// <summary>Cancelled by Ctrl+C or SIGTERM (set up in Program.cs).</summary>
    public static CancellationToken Shutdown { get; set; }

    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken invocationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(invocationToken, Shutdown);
        var cancellationToken = linked.Token;
        try
        {
            return await body(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
        catch (Exception error) when (Describe(error) is { } reason)
        {
            Console.Error.WriteLine($"netlabs: {reason}");
            return error is CliFailure failure ? failure.ExitCode : 1;
        }
    }

    /// <summary>The one-line reason for an error a user can meet; null for a bug (let it surface with its stack).</summary>
    public static string? Describe(Exception error) => error switch
    {
        CliFailure failure => failure.Message,
        NetLabs.Hosting.NetLabsException netlabs => netlabs.Message, // the library's sentence, never rewritten
        SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => "the port is already in use (another server is running there; pick another --port or stop it).",
        SocketException { SocketErrorCode: SocketError.AddressNotAvailable } => "that --bind address is not an address of this machine.",
        SocketException { SocketErrorCode: SocketError.AccessDenied } => "not allowed to use that port (ports below 1024 need administrator rights).",
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused: nothing is listening at that host and port.",
        SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain } => "host not found (check the name or use its IP address).",
        SocketException { SocketErrorCode: SocketError.HostUnreachable or SocketError.NetworkUnreachable } => "host unreachable (check the address, the network and the firewall).",
        SocketException { SocketErrorCode: SocketError.TimedOut } => "the host did not answer in time (check the address and the firewall).",
        SocketException socket => $"network error: {socket.Message}",
        AuthenticationException tls => $"TLS failed: {tls.Message}",
        TimeoutException timeout => timeout.Message,
        IOException io when io.InnerException is SocketException inner => Describe(inner),
        IOException io => io.Message,
        UnauthorizedAccessException access => access.Message,
        _ when error.GetType().Namespace?.StartsWith("NetLabs", StringComparison.Ordinal) == true => error.Message,
        _ => null,
    };

    /// <summary>
    /// For a serve command: says how to stop, then waits until Ctrl+C or SIGTERM cancels <paramref name="cancellationToken"/>.
    /// Returns normally, so the caller stops its server cleanly and reports.
    /// </summary>
    public static async Task UntilStoppedAsync(CancellationToken cancellationToken)
    {
        PrintStopHint();
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public static void PrintStopHint() => Terminal.Styled("Ctrl+C stops the server.", "grey");

    /// <summary>Parses an IP address option with a clear message.</summary>
    public static IPAddress ParseAddress(string text, string option) =>
        IPAddress.TryParse(text, out var address) ? address : throw new CliFailure($"{option} '{text}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 for every interface).", 2);
}

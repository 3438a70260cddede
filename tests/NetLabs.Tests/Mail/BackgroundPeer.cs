using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetLabs.Tests.Mail;

/// <summary>A real peer server (smtp-sink, aiosmtpd) running for the length of one test, killed on dispose.</summary>
internal sealed class BackgroundPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundPeer(Process process) => _process = process;

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>A port that was free a moment ago (the peer binds it itself).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Starts the program and waits (bounded) until it accepts connections on the port.</summary>
    public static async Task<BackgroundPeer> StartAsync(string program, IEnumerable<string> arguments, int port, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var peer = new BackgroundPeer(Process.Start(start) ?? throw new InvalidOperationException("could not start " + program));
        peer._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (peer._output) peer._output.AppendLine(e.Data); };
        peer._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (peer._output) peer._output.AppendLine(e.Data); };
        peer._process.BeginOutputReadLine();
        peer._process.BeginErrorReadLine();
        while (true)
        {
            if (peer._process.HasExited) throw new InvalidOperationException($"{program} exited early: {peer.Output}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return peer;
            }
            catch (SocketException) { await Task.Delay(50, cancellationToken); }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}

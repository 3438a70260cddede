using System.CommandLine;
using System.Runtime.InteropServices;
using NetLabs.Cli.CommandLine;
using NetLabs.Cli.Notebooks;

var root = new RootCommand("""
    NetLabs: the Kurose & Ross socket labs from the command line. A teacher runs a server bound to the room's network
    (--bind 0.0.0.0), students point their clients at the teacher's IP address.
    """);
root.Subcommands.Add(NetLabs.Cli.Web.WebCommands.Create());
root.Subcommands.Add(NetLabs.Cli.Ping.PingCommands.CreatePing());
root.Subcommands.Add(NetLabs.Cli.Ping.PingCommands.CreateHeartbeat());
root.Subcommands.Add(NetLabs.Cli.Mail.MailCommands.Create());
root.Subcommands.Add(NetLabs.Cli.Icmp.IcmpCommands.CreateIcmp());
root.Subcommands.Add(NetLabs.Cli.Icmp.IcmpCommands.CreateTraceroute());
root.Subcommands.Add(NetLabs.Cli.Proxy.ProxyCommands.Create());
root.Subcommands.Add(NetLabs.Cli.Video.VideoCommands.Create());
root.Subcommands.Add(NotebooksCommand.Create());
root.Subcommands.Add(NetLabs.Cli.Jupyter.JupyterCommands.Create());
// Ctrl+C (SIGINT) and SIGTERM cancel the running command, which then stops its server cleanly and says so
// (CliRunner links this token); System.CommandLine's own handling would give up after a fixed timeout.
using var shutdown = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
CliRunner.Shutdown = shutdown.Token;
var parsed = root.Parse(args.Length == 0 ? ["--help"] : args); // a bare "netlabs" shows what it can do
if (parsed.Errors.Count > 0)
{
    // One line, like every other failure: System.CommandLine would follow the error with the whole help text.
    Console.Error.WriteLine($"netlabs: {parsed.Errors[0].Message} (see --help)");
    return 2;
}
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}

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
root.Subcommands.Add(NetLabs.Cli.Video.VideoCommands.Create());
root.Subcommands.Add(NotebooksCommand.Create());
root.Subcommands.Add(NetLabs.Cli.Jupyter.JupyterCommands.Create());
// Ctrl+C (SIGINT) and SIGTERM cancel the running command, which then stops its server cleanly and says so
// (CliRunner links this token); System.CommandLine's own handling would give up after a fixed timeout.
using var shutdown = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
CliRunner.Shutdown = shutdown.Token;
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    shutdown.Cancel();
}

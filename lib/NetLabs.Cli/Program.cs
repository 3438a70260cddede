using System.CommandLine;
using NetLabs.Cli.Notebooks;

var root = new RootCommand("""
    NetLabs: the Kurose & Ross socket labs from the command line. A teacher runs a server bound to the room's network
    (--bind 0.0.0.0), students point their clients at the teacher's IP address.
    """);
root.Subcommands.Add(NotebooksCommand.Create());
return await root.Parse(args).InvokeAsync();

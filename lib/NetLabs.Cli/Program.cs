using System.CommandLine;
using NetLabs.Cli.Notebooks;

var root = new RootCommand("NetLabs: the Kurose & Ross socket labs (web server, UDP pinger, SMTP) from the command line.");
root.Subcommands.Add(NotebooksCommand.Create());
return await root.Parse(args).InvokeAsync();

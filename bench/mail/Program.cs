using NetLabs.Mail;

// Starts the local mail server on the given port (0 = any), prints "port N", and runs until stdin closes.
// Nothing is kept per message (no transcripts, no stored copies) so that what is measured is the SMTP path itself.
var port = args.Length > 0 ? int.Parse(args[0]) : 0;
await using var server = LocalMailServer.Start(new LocalMailServerOptions
{
    Port = port,
    EnableStartTls = false,
    KeepTranscripts = false,
    MaxStoredMessages = 0,
    MaxSessions = 1024,
    MaxSessionsPerAddress = 1024, // smtp-source sends every session from 127.0.0.1
});
Console.WriteLine($"port {server.Port}");
await Console.In.ReadToEndAsync();
var accepted = server.Counters.MessagesAccepted;
Console.WriteLine($"accepted {accepted}, {GC.GetTotalAllocatedBytes(precise: true) / Math.Max(1, accepted)} bytes allocated per message (start-up included)");

namespace NetLabs.Hosting;

/// <summary>
/// Every failure NetLabs reports to a user derives from this: its message is one complete sentence that says what
/// happened and, where the user can do something, what to do. The <c>netlabs</c> command prints it as its one line.
/// </summary>
public class NetLabsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A server could not start (port in use, address not on this machine, missing folder, bad option). Thrown by every
/// lab server's <c>Start</c>; the message says how to fix it.
/// </summary>
public sealed class ServerStartException(string message, Exception? inner = null) : NetLabsException(message, inner);

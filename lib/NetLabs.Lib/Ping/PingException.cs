using System.Net;
using System.Net.Sockets;
using NetLabs.Hosting;

namespace NetLabs.Ping;

/// <summary>
/// A ping run that cannot go on: the operating system reports that nothing listens on the server's port (an ICMP
/// "port unreachable" came back), or that the server's network cannot be reached. Carries the replies so far.
/// A ping that simply gets no answer is no failure: it is a <see cref="PingOutcome.Timeout"/>.
/// </summary>
public sealed class PingException(string message, IPEndPoint server, IReadOnlyList<PingReply> replies, Exception? inner = null)
    : NetLabsException(message, inner)
{
    public IPEndPoint Server { get; } = server;

    /// <summary>The outcomes streamed before the failure, in order.</summary>
    public IReadOnlyList<PingReply> Replies { get; } = replies;

    /// <summary>The failure a socket error means for a ping run, or null when the error is no reason to stop (a stray datagram, say).</summary>
    internal static PingException? From(SocketException error, IPEndPoint server) => error.SocketErrorCode switch
    {
        // Linux reports the ICMP "port unreachable" as ECONNREFUSED (Windows as WSAECONNRESET).
        SocketError.ConnectionRefused or SocketError.ConnectionReset => new PingException(
            $"port unreachable: nothing listens on UDP {server.Port} at {server.Address} (is the ping server running, on that port?).", server, [], error),
        SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown => new PingException(
            $"host unreachable: {server.Address} cannot be reached from here (check the address, the network and the firewall).", server, [], error),
        _ => null,
    };

    /// <summary>The failure of sending ping <paramref name="sequence"/>: always one (a send that fails cannot be retried into a reply).</summary>
    internal static PingException Sending(SocketException error, IPEndPoint server, int sequence) =>
        From(error, server) ?? new PingException($"ping {sequence} could not be sent to {server}: {error.Message}.", server, [], error);

    internal PingException WithReplies(IReadOnlyList<PingReply> replies) => new(Message, Server, replies, InnerException);
}

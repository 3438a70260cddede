using System.Net;
using System.Net.Sockets;

namespace NetLabs.Ping;

/// <summary>One ping to send: what the client hands to a <see cref="PingExchange"/>.</summary>
public sealed record PingRequest(int Sequence, string Payload, IPEndPoint Server, TimeSpan Timeout);

/// <summary>
/// Sends one ping on <paramref name="socket"/> and waits (at most <see cref="PingRequest.Timeout"/>) for its reply. This
/// is the lab's student seam, at the level of the textbook's skeleton (<c>sendto</c>, <c>settimeout</c>,
/// <c>recvfrom</c>): the library makes one UDP socket for the whole run, unbound (the OS picks its port at the first
/// send) and hands it to every call, so the late echo of an earlier ping can arrive on it while a later ping waits.
/// A student's function, passed as <see cref="PingClientOptions.Exchange"/>, replaces ours
/// (<see cref="PingClient.ExchangeAsync"/>) and runs in <see cref="PingClient.PingAsync"/> with the same pacing, output
/// and statistics. Return <see cref="PingReply.TimedOut"/> when nothing came back in time.
/// </summary>
public delegate Task<PingReply> PingExchange(Socket socket, PingRequest request, CancellationToken cancellationToken);

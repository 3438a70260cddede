using System.Net;

namespace NetLabs.Ping;

/// <summary>One ping to send: what the client hands to a <see cref="PingExchange"/>.</summary>
public sealed record PingRequest(int Sequence, string Payload, IPEndPoint Server, TimeSpan Timeout);

/// <summary>
/// Sends one ping and waits (at most <see cref="PingRequest.Timeout"/>) for its reply. This is the lab's student seam:
/// a student's own "send one ping and wait for its reply" code, passed as <see cref="PingClientOptions.Exchange"/>,
/// replaces ours (<see cref="PingClient.ExchangeAsync"/>) and runs in <see cref="PingClient.PingAsync"/> with the same
/// pacing, output and statistics. Return <see cref="PingReply.TimedOut"/> when nothing came back.
/// </summary>
public delegate Task<PingReply> PingExchange(PingRequest request, CancellationToken cancellationToken);

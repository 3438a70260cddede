using System.Globalization;
using System.Net;

namespace NetLabs.Capture;

/// <summary>
/// One TCP connection (or one UDP client/server pair) of a capture, with what its packets say: how long the handshake
/// took, how many bytes went each way, and whether sequence numbers ran on without holes (a gap: bytes the capture
/// never saw) or went back (a retransmission). Sequence continuity is the check; libpcap's drop counter misses
/// frames the kernel buffer lost.
/// </summary>
public sealed record PacketConversation
{
    public PacketProtocol Protocol { get; init; }
    /// <summary>The side that sent the first SYN (or the first datagram).</summary>
    public IPEndPoint Client { get; init; } = new(IPAddress.None, 0);
    public IPEndPoint Server { get; init; } = new(IPAddress.None, 0);
    public int Packets { get; init; }
    public TimeSpan Start { get; init; }
    public TimeSpan Duration { get; init; }
    /// <summary>From the SYN to the ACK that completes the three-way handshake; null if the capture missed part of it.</summary>
    public TimeSpan? Handshake { get; init; }
    /// <summary>Application bytes the client sent (each byte once: retransmissions are not counted again).</summary>
    public long BytesToServer { get; init; }
    public long BytesToClient { get; init; }
    public int Retransmissions { get; init; }
    /// <summary>Holes in the sequence numbers: segments the capture never saw.</summary>
    public int Gaps { get; init; }
    public long MissingBytes { get; init; }
    /// <summary>"FIN both ways", "FIN from client only", "RST", "open" (TCP), "" for UDP.</summary>
    public string Closed { get; init; } = "";

    /// <summary>True when every byte of both directions was captured: no gap, whatever retransmissions.</summary>
    public bool Complete => Gaps == 0;

    public override string ToString() => Protocol == PacketProtocol.Tcp
        ? string.Create(CultureInfo.InvariantCulture,
            $"TCP {Client} → {Server}: {Packets} packets, handshake {(Handshake is { } h ? $"{h.TotalMilliseconds:0.###} ms" : "not captured")}, {BytesToServer} B → / ← {BytesToClient} B, {Retransmissions} retransmission(s), {Gaps} gap(s), {Closed}")
        : string.Create(CultureInfo.InvariantCulture, $"{Protocol.ToString().ToUpperInvariant()} {Client} → {Server}: {Packets} packets, {BytesToServer} B → / ← {BytesToClient} B");
}

/// <summary>
/// Turns decoded packets into rows with directions, relative sequence numbers, TLS record names and continuity notes,
/// and into one <see cref="PacketConversation"/> per connection.
/// </summary>
internal static class CaptureAnalysis
{
    private sealed class Direction
    {
        public uint Isn;
        public bool HasIsn;
        public long Next;       // relative: the next byte expected
        public long Bytes;
        public bool Fin;
        public readonly TlsRecordWalker Tls = new();
    }

    private sealed class Flow(PacketProtocol protocol, IPEndPoint client, IPEndPoint server, TimeSpan start)
    {
        public PacketProtocol Protocol = protocol;
        public IPEndPoint Client = client, Server = server;
        public TimeSpan Start = start, Last = start;
        public TimeSpan? SynAt, HandshakeDone;
        public bool SynAckSeen, Reset;
        public int Packets, Retransmissions, Gaps;
        public long Missing;
        public readonly Direction ToServer = new(), ToClient = new();
    }

    public static (IReadOnlyList<CapturedPacket> Rows, IReadOnlyList<PacketConversation> Conversations) Analyze(IReadOnlyList<CapturedPacket> decoded)
    {
        var rows = new List<CapturedPacket>(decoded.Count);
        var flows = new Dictionary<(PacketProtocol, IPEndPoint, IPEndPoint), Flow>();
        var order = new List<Flow>();
        var first = decoded.Count > 0 ? decoded[0].TimestampUtc : DateTime.MinValue;
        foreach (var packet in decoded)
        {
            var row = packet with { Number = rows.Count + 1, Time = packet.TimestampUtc - first };
            if (row.Protocol is PacketProtocol.Tcp or PacketProtocol.Udp)
            {
                var (a, b) = (row.SourceEndPoint, row.DestinationEndPoint);
                var key = Compare(a, b) <= 0 ? (row.Protocol, a, b) : (row.Protocol, b, a);
                if (!flows.TryGetValue(key, out var flow))
                {
                    // The client is whoever speaks first; a SYN-ACK seen first (the SYN was missed) still names the server.
                    var clientFirst = !(row.Flags.HasFlag(TcpFlags.Syn) && row.Flags.HasFlag(TcpFlags.Ack));
                    flow = clientFirst ? new Flow(row.Protocol, a, b, row.Time) : new Flow(row.Protocol, b, a, row.Time);
                    flows[key] = flow;
                    order.Add(flow);
                }
                var fromClient = flow.Client.Equals(a);
                flow.Packets++;
                flow.Last = row.Time;
                row = row with { FromClient = fromClient };
                if (row.Protocol == PacketProtocol.Tcp) row = Follow(flow, row, fromClient);
                else (fromClient ? flow.ToServer : flow.ToClient).Bytes += row.PayloadLength;
            }
            rows.Add(row);
        }
        return (rows, order.Select(Summarize).ToList());
    }

    private static CapturedPacket Follow(Flow flow, CapturedPacket row, bool fromClient)
    {
        var (own, other) = fromClient ? (flow.ToServer, flow.ToClient) : (flow.ToClient, flow.ToServer);
        var syn = row.Flags.HasFlag(TcpFlags.Syn);
        var ack = row.Flags.HasFlag(TcpFlags.Ack);
        if (syn && !own.HasIsn)
        {
            (own.Isn, own.HasIsn, own.Next) = (row.RawSequence, true, 1);
            if (!ack) flow.SynAt = row.Time;
            else flow.SynAckSeen = true;
        }
        else if (!own.HasIsn)
        {
            // The capture started after the handshake: count from here.
            (own.Isn, own.HasIsn, own.Next) = (row.RawSequence - 1, true, 1);
        }
        if (row.Flags.HasFlag(TcpFlags.Rst)) flow.Reset = true;
        if (fromClient && ack && !syn && flow.SynAt is not null && flow.SynAckSeen && flow.HandshakeDone is null)
            flow.HandshakeDone = row.Time;

        long seq = unchecked((uint)(row.RawSequence - own.Isn));
        long? relativeAck = ack && other.HasIsn ? unchecked((uint)(row.RawAcknowledgment - other.Isn)) : null;
        var note = "";
        var length = row.PayloadLength;
        var tls = (IReadOnlyList<string>)[];
        if (length > 0)
        {
            if (seq > own.Next)
            {
                note = $"gap: {seq - own.Next} bytes missing before";
                flow.Gaps++;
                flow.Missing += seq - own.Next;
                own.Tls.Lose();
            }
            if (seq + length <= own.Next)
            {
                note = "retransmission";
                flow.Retransmissions++;
            }
            else
            {
                var fresh = seq >= own.Next ? length : (int)(seq + length - own.Next);
                if (fresh < length) { note = "retransmission (in part)"; flow.Retransmissions++; }
                own.Bytes += fresh;
                tls = fresh == length ? own.Tls.Walk(row.Payload.Span) : [];
                own.Next = seq + length;
            }
        }
        if (row.Flags.HasFlag(TcpFlags.Fin) && !own.Fin)
        {
            own.Fin = true;
            own.Next = Math.Max(own.Next, seq + length + 1);
        }
        return row with { Sequence = seq, Acknowledgment = relativeAck, Note = note, Tls = tls };
    }

    private static PacketConversation Summarize(Flow flow) => new()
    {
        Protocol = flow.Protocol, Client = flow.Client, Server = flow.Server, Packets = flow.Packets,
        Start = flow.Start, Duration = flow.Last - flow.Start,
        Handshake = flow.HandshakeDone - flow.SynAt,
        BytesToServer = flow.ToServer.Bytes, BytesToClient = flow.ToClient.Bytes,
        Retransmissions = flow.Retransmissions, Gaps = flow.Gaps, MissingBytes = flow.Missing,
        Closed = flow.Protocol != PacketProtocol.Tcp ? ""
            : flow.Reset ? "RST"
            : (flow.ToServer.Fin, flow.ToClient.Fin) switch
            {
                (true, true) => "FIN both ways",
                (true, false) => "FIN from client only",
                (false, true) => "FIN from server only",
                _ => "open",
            },
    };

    private static int Compare(IPEndPoint a, IPEndPoint b)
    {
        var byAddress = string.CompareOrdinal(a.Address.ToString(), b.Address.ToString());
        return byAddress != 0 ? byAddress : a.Port.CompareTo(b.Port);
    }
}

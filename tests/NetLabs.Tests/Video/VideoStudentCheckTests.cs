using System.Buffers.Binary;
using NetLabs.Checks;
using NetLabs.Video;

namespace NetLabs.Tests.Video;

/// <summary>The video lab's report cards: our code passes every row; the classic mistakes fail the row that names them.</summary>
public sealed class VideoStudentCheckTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static void AssertFailed(ReportCard card, string nameStart)
    {
        var row = Assert.Single(card.Results, r => r.Name.StartsWith(nameStart, StringComparison.Ordinal));
        Assert.False(row.Passed, card.ToString());
        Assert.False(string.IsNullOrWhiteSpace(row.Hint));
    }

    // The client side as the solution writes it; the broken variants below change one thing each.
    internal static string Request(string method, string url, RtspClientState state, bool countCSeq = true, bool sendSession = true)
    {
        if (countCSeq || state.CSeq == 0) state.CSeq++;
        var request = $"{method} {url} RTSP/1.0\r\nCSeq: {state.CSeq}\r\n";
        if (method == "SETUP") request += $"Transport: RTP/AVP;unicast;client_port={state.RtpPort}-{state.RtpPort + 1}\r\n";
        if (sendSession && state.Session is not null) request += $"Session: {state.Session}\r\n";
        return request + "\r\n";
    }

    internal static bool Reply(string reply, RtspClientState state, bool checkCSeq = true)
    {
        var message = new RtspMessageReader(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(reply))).ReadAsync().GetAwaiter().GetResult()!;
        if (message.StatusCode != 200 || (checkCSeq && message.CSeq != state.CSeq)) return false;
        state.Session ??= message.Session;
        return true;
    }

    [Fact]
    public async Task Our_header_packing_and_client_side_pass_every_check()
    {
        var header = await VideoStudentChecks.RunHeaderAsync(RtpPacket.WriteHeader, VideoTesting.Clip).WaitAsync(Bound);
        Assert.True(header.AllPassed, header.ToString());
        Assert.Equal("report card 07-video-streaming: 4 passed, 0 failed", header.SummaryLine);
        var client = await VideoStudentChecks.RunClientAsync((m, u, s) => Request(m, u, s), (r, s) => Reply(r, s), VideoTesting.Clip).WaitAsync(Bound);
        Assert.True(client.AllPassed, client.ToString());
    }

    [Fact]
    public async Task Wrong_field_order_and_a_sequence_number_not_incremented_fail()
    {
        RtpHeaderWriter swapped = (packet, header) =>
        {
            RtpPacket.WriteHeader(packet, header);
            BinaryPrimitives.WriteUInt32BigEndian(header[2..], packet.Timestamp); // timestamp where the sequence number goes
            BinaryPrimitives.WriteUInt16BigEndian(header[6..], packet.SequenceNumber);
        };
        var card = await VideoStudentChecks.RunHeaderAsync(swapped, VideoTesting.Clip).WaitAsync(Bound);
        AssertFailed(card, "the fixed header's fields");
        Assert.Contains("sequence number: you wrote", card.Results[0].Detail);

        RtpHeaderWriter constantSequence = (packet, header) => RtpPacket.WriteHeader(packet with { SequenceNumber = 1 }, header);
        card = await VideoStudentChecks.RunHeaderAsync(constantSequence, VideoTesting.Clip).WaitAsync(Bound);
        AssertFailed(card, "a stream from the server with your header");
        Assert.Contains("+ 1", card.Results[3].Detail);

        RtpHeaderWriter noMarker = (packet, header) => RtpPacket.WriteHeader(packet with { Marker = false }, header);
        AssertFailed(await VideoStudentChecks.RunHeaderAsync(noMarker, VideoTesting.Clip).WaitAsync(Bound), "the marker bit");
    }

    [Fact]
    public async Task CSeq_not_tracked_and_session_id_ignored_fail()
    {
        var card = await VideoStudentChecks.RunClientAsync((m, u, s) => Request(m, u, s, countCSeq: false), (r, s) => Reply(r, s), VideoTesting.Clip).WaitAsync(Bound);
        AssertFailed(card, "CSeq counts up");
        card = await VideoStudentChecks.RunClientAsync((m, u, s) => Request(m, u, s), (r, s) => Reply(r, s, checkCSeq: false), VideoTesting.Clip).WaitAsync(Bound);
        AssertFailed(card, "a reply whose CSeq is not the request's");
        card = await VideoStudentChecks.RunClientAsync((m, u, s) => Request(m, u, s, sendSession: false), (r, s) => Reply(r, s), VideoTesting.Clip).WaitAsync(Bound);
        AssertFailed(card, "the session id from SETUP");
        AssertFailed(card, "the whole dialogue");
    }

    [Fact]
    public async Task Empty_gaps_fail_every_row_without_throwing()
    {
        var header = await VideoStudentChecks.RunHeaderAsync((_, _) => throw new NotImplementedException("Fill in rtp-header"), VideoTesting.Clip).WaitAsync(Bound);
        Assert.Equal((0, 4), (header.Passed, header.Failed));
        var client = await VideoStudentChecks.RunClientAsync((_, _, _) => throw new NotImplementedException("Fill in rtsp-requests"),
            (_, _) => throw new NotImplementedException("Fill in rtsp-requests"), VideoTesting.Clip).WaitAsync(Bound);
        Assert.Equal((0, 4), (client.Passed, client.Failed));
    }
}

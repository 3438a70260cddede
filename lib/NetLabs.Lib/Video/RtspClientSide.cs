namespace NetLabs.Video;

/// <summary>
/// What the client's RTSP side remembers between requests, as in the textbook's client: the CSeq of the latest
/// request, the session id the server gave in its SETUP reply, and the UDP port RTP should come to.
/// </summary>
public sealed class RtspClientState
{
    /// <summary>The CSeq of the latest request sent (0 before the first).</summary>
    public int CSeq { get; set; }
    /// <summary>The session id from the SETUP reply (null before it).</summary>
    public string? Session { get; set; }
    /// <summary>The UDP port the client receives RTP on (for SETUP's Transport header).</summary>
    public int RtpPort { get; set; }
    /// <summary>The status code of the latest reply.</summary>
    public int LastStatus { get; set; }
}

/// <summary>
/// The student's request writing: the whole text of one RTSP request for <c>method</c> on <c>url</c> (request line,
/// CSeq, Session once there is one, Transport for SETUP, an empty line), updating <see cref="RtspClientState.CSeq"/>.
/// null in <see cref="RtspClientOptions.RequestWriter"/> = the library's.
/// </summary>
public delegate string RtspRequestWriter(string method, string url, RtspClientState state);

/// <summary>
/// The student's reply reading: true when <c>reply</c> answers the latest request (its CSeq) with 200, and then
/// remembers what it brings (the Session of a SETUP reply) in <c>state</c>; false otherwise.
/// null in <see cref="RtspClientOptions.ReplyReader"/> = the library's.
/// </summary>
public delegate bool RtspReplyReader(string reply, RtspClientState state);

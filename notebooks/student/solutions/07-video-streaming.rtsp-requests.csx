string WriteRequest(string method, string url, RtspClientState state)
{
    // Fill in start
    state.CSeq++;                                   // every request has the next number; the reply repeats it
    var request = $"{method} {url} RTSP/1.0\r\nCSeq: {state.CSeq}\r\n";
    if (method == "SETUP")
        request += $"Transport: RTP/AVP;unicast;client_port={state.RtpPort}-{state.RtpPort + 1}\r\n";
    if (state.Session is not null)
        request += $"Session: {state.Session}\r\n"; // after SETUP, every request names the session
    return request + "\r\n";
    // Fill in end
}

bool ReadReply(string reply, RtspClientState state)
{
    // Fill in start
    var lines = reply.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
    string? Header(string name) =>
        lines.FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();
    var status = lines[0].Split(' ');
    if (status.Length < 2 || status[1] != "200") return false;                 // only 200 OK is success
    if (Header("CSeq") != state.CSeq.ToString()) return false;                 // not the answer to our latest request
    if (Header("Session") is { } session) state.Session ??= session.Split(';')[0].Trim();   // "ID;timeout=60" → ID
    return true;
    // Fill in end
}

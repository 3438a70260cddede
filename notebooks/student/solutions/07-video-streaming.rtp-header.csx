void WriteRtpHeader(RtpPacket packet, Span<byte> header)
{
    // Fill in start
    // Byte 0: V (2 bits) P X CC (4 bits); byte 1: M PT (7 bits); then sequence, timestamp, SSRC, most significant byte first.
    header[0] = (byte)(packet.Version << 6 | (packet.Padding ? 1 : 0) << 5 | (packet.Extension ? 1 : 0) << 4 | packet.Csrcs.Count);
    header[1] = (byte)((packet.Marker ? 1 : 0) << 7 | packet.PayloadType);
    header[2] = (byte)(packet.SequenceNumber >> 8);
    header[3] = (byte)packet.SequenceNumber;
    header[4] = (byte)(packet.Timestamp >> 24);
    header[5] = (byte)(packet.Timestamp >> 16);
    header[6] = (byte)(packet.Timestamp >> 8);
    header[7] = (byte)packet.Timestamp;
    header[8] = (byte)(packet.Ssrc >> 24);
    header[9] = (byte)(packet.Ssrc >> 16);
    header[10] = (byte)(packet.Ssrc >> 8);
    header[11] = (byte)packet.Ssrc;
    // Fill in end
}

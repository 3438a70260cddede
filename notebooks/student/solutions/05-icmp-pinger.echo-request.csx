ushort Checksum(byte[] data)
{
    // Fill in start
    // RFC 1071: the one's-complement sum of 16-bit big-endian words, carries folded back in, then complemented.
    uint sum = 0;
    for (var i = 0; i + 1 < data.Length; i += 2) sum += (uint)(data[i] << 8 | data[i + 1]);
    if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);   // an odd last byte is padded on the right
    while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
    return (ushort)~sum;
    // Fill in end
}

byte[] BuildEchoRequest(ushort identifier, ushort sequence, byte[] data)
{
    // Fill in start
    var packet = new byte[8 + data.Length];
    packet[0] = 8;                                  // type: echo request
    packet[1] = 0;                                  // code
    packet[4] = (byte)(identifier >> 8); packet[5] = (byte)identifier;
    packet[6] = (byte)(sequence >> 8);   packet[7] = (byte)sequence;
    data.CopyTo(packet, 8);
    var checksum = Checksum(packet);                // computed while bytes 2–3 are still 0
    packet[2] = (byte)(checksum >> 8); packet[3] = (byte)checksum;
    return packet;
    // Fill in end
}

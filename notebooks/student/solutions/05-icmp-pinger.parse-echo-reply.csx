ParsedIcmp? ParseReply(byte[] packet)
{
    // Fill in start
    if (packet.Length < 20 || packet[0] >> 4 != 4) return null;
    var headerLength = (packet[0] & 0x0F) * 4;      // IHL counts 32-bit words: 20 to 60 bytes
    if (headerLength < 20 || packet.Length < headerLength + 8) return null;
    if (packet[9] != 1) return null;                // protocol 1 = ICMP
    var icmp = packet[headerLength..];
    if (Checksum(icmp) != 0) return null;           // a checksum over an intact message, checksum included, is 0
    var source = new IPAddress(packet[12..16]);
    return new ParsedIcmp(source, packet[8], icmp[0], icmp[1], (ushort)(icmp[4] << 8 | icmp[5]), (ushort)(icmp[6] << 8 | icmp[7]));
    // Fill in end
}

using System.Text;

namespace NetLabs.Capture;

/// <summary>
/// Writes frames as a pcapng file (the format Wireshark saves): a section header, one interface description per link
/// type, one enhanced packet block per frame with its microsecond timestamp. Little-endian, every block padded to 4 bytes.
/// </summary>
public static class PcapngWriter
{
    private const uint SectionHeader = 0x0A0D0D0A, InterfaceDescription = 1, EnhancedPacket = 6;

    public static void Write(Stream destination, IEnumerable<CapturedFrame> frames, int snapshotLength = 262_144, string? comment = null)
    {
        using var output = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        var options = new MemoryStream();
        using (var optionWriter = new BinaryWriter(options, Encoding.UTF8, leaveOpen: true))
        {
            WriteOption(optionWriter, 4, Encoding.UTF8.GetBytes("NetLabs")); // shb_userappl
            if (!string.IsNullOrEmpty(comment)) WriteOption(optionWriter, 1, Encoding.UTF8.GetBytes(comment)); // opt_comment
            optionWriter.Write(0u); // opt_endofopt
        }
        var header = new MemoryStream();
        using (var body = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true))
        {
            body.Write(0x1A2B3C4Du);  // byte-order magic
            body.Write((ushort)1);    // major version
            body.Write((ushort)0);    // minor version
            body.Write(-1L);          // section length: not given
            body.Write(options.ToArray());
        }
        WriteBlock(output, SectionHeader, header.ToArray());

        var interfaces = new Dictionary<int, uint>();
        foreach (var frame in frames)
        {
            if (!interfaces.TryGetValue(frame.LinkType, out var id))
            {
                id = (uint)interfaces.Count;
                interfaces[frame.LinkType] = id;
                var description = new byte[8];
                BitConverter.TryWriteBytes(description.AsSpan(0), (ushort)frame.LinkType);
                BitConverter.TryWriteBytes(description.AsSpan(4), (uint)snapshotLength);
                WriteBlock(output, InterfaceDescription, description); // if_tsresol defaults to microseconds
            }
            var micros = (ulong)((frame.TimestampUtc - DateTime.UnixEpoch).Ticks / 10);
            var packet = new byte[20 + Pad(frame.Bytes.Length)];
            BitConverter.TryWriteBytes(packet.AsSpan(0), id);
            BitConverter.TryWriteBytes(packet.AsSpan(4), (uint)(micros >> 32));
            BitConverter.TryWriteBytes(packet.AsSpan(8), (uint)micros);
            BitConverter.TryWriteBytes(packet.AsSpan(12), (uint)frame.Bytes.Length);
            BitConverter.TryWriteBytes(packet.AsSpan(16), (uint)Math.Max(frame.OriginalLength, frame.Bytes.Length));
            frame.Bytes.CopyTo(packet, 20);
            WriteBlock(output, EnhancedPacket, packet);
        }
    }

    /// <summary>Writes the file; the folder must exist.</summary>
    public static void Write(string path, IEnumerable<CapturedFrame> frames, int snapshotLength = 262_144, string? comment = null)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(file, frames, snapshotLength, comment);
    }

    private static void WriteBlock(BinaryWriter output, uint type, byte[] body)
    {
        // Bodies are built padded to 4 bytes; the total counts type, both lengths and the body.
        var padded = Pad(body.Length);
        var total = (uint)(12 + padded);
        output.Write(type);
        output.Write(total);
        output.Write(body);
        for (var i = body.Length; i < padded; i++) output.Write((byte)0);
        output.Write(total);
    }

    private static void WriteOption(BinaryWriter output, ushort code, byte[] value)
    {
        output.Write(code);
        output.Write((ushort)value.Length);
        output.Write(value);
        for (var i = value.Length; i < Pad(value.Length); i++) output.Write((byte)0);
    }

    private static int Pad(int length) => (length + 3) & ~3;
}

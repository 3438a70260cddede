using System.Buffers.Binary;

namespace NetLabs.Icmp;

/// <summary>
/// The data of our echo requests, as iputils ping lays it out: the send time first (8 bytes, microseconds since the
/// Unix epoch, big-endian), then the pattern 0x10, 0x11, 0x12, … up to the size asked for.
/// </summary>
public static class EchoPayload
{
    public const int DefaultSize = 56;
    public const int MaximumSize = 65507 - IcmpMessage.HeaderLength;

    public static byte[] Create(int size, DateTimeOffset sentAt)
    {
        if (size is < 0 or > MaximumSize) throw new ArgumentOutOfRangeException(nameof(size), size, $"An echo payload is 0–{MaximumSize} bytes.");
        var data = new byte[size];
        for (var i = 0; i < size; i++) data[i] = (byte)(0x10 + i);
        if (size >= 8) BinaryPrimitives.WriteInt64BigEndian(data, (sentAt - DateTimeOffset.UnixEpoch).Ticks / 10);
        return data;
    }

    /// <summary>The send time carried by a payload of at least 8 bytes.</summary>
    public static DateTimeOffset? SentAt(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8) return null;
        var micros = BinaryPrimitives.ReadInt64BigEndian(data);
        var maxMicros = (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks / 10;
        return micros is >= 0 && micros <= maxMicros ? DateTimeOffset.UnixEpoch.AddTicks(micros * 10) : null;
    }
}

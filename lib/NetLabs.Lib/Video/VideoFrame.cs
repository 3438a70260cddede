using System.Globalization;
using NetLabs.Display;

namespace NetLabs.Video;

/// <summary>
/// A frame the receiver put back together: the rebuilt JPEG file, the RTP timestamp its packets shared, its number
/// in the stream (from the timestamp: a lost frame leaves a gap) and when its first and last packets arrived.
/// </summary>
public sealed record VideoFrame(long Number, uint Timestamp, byte[] Jpeg, int Width, int Height, int Packets, TimeSpan FirstPacketAt, TimeSpan CompletedAt)
    : IHtmlDisplay
{
    /// <summary>The frame as an inline image, the way the notebook plays the stream.</summary>
    public string ToHtml() => ImageHtml(Jpeg, $"frame {Number}");

    public static string ImageHtml(byte[] jpeg, string title) =>
        $"<img src=\"data:image/jpeg;base64,{Convert.ToBase64String(jpeg)}\" title=\"{System.Net.WebUtility.HtmlEncode(title)}\"/>";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"frame {Number}: {Width}x{Height}, {Jpeg.Length} B in {Packets} packets, complete at {CompletedAt.TotalMilliseconds:F1} ms");
}

/// <summary>One RTP packet as the receiver saw it: for the jitter and inter-arrival charts.</summary>
public readonly record struct ReceivedPacket(TimeSpan At, ushort SequenceNumber, uint Timestamp, int Bytes, bool Marker, double JitterMs);

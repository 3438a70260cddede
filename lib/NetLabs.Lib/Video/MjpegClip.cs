using System.Globalization;
using System.Text;

namespace NetLabs.Video;

/// <summary>
/// A Motion-JPEG clip held in memory: its frames and the rate to play them at. Two file layouts are read: raw
/// MJPEG (JPEG files one after another, what <c>ffmpeg -f mjpeg</c> writes) and the textbook's <c>movie.Mjpeg</c>
/// (each frame preceded by its length as 5 ASCII digits).
/// </summary>
public sealed class MjpegClip
{
    /// <summary>The lab's clip (see data/video/make-clip.sh) plays at this rate.</summary>
    public const double DefaultFramesPerSecond = 10;
    /// <summary>A clip is held in memory: larger files are refused rather than read.</summary>
    public const long MaxFileBytes = 64L << 20;
    public const int MaxFramesPerSecond = 10_000;

    public MjpegClip(string name, IReadOnlyList<JpegImage> frames, double framesPerSecond = DefaultFramesPerSecond)
    {
        if (frames.Count == 0) throw new VideoClipException($"The clip {name} has no frames.");
        // Up to 10 000 frames/s (benchmarks): the 90 kHz RTP clock still gives each frame 9 ticks of its own.
        if (!(framesPerSecond is > 0 and <= MaxFramesPerSecond)) throw new VideoClipException($"A clip plays at 0–{MaxFramesPerSecond} frames per second, not {framesPerSecond}.");
        Name = name;
        Frames = frames;
        FramesPerSecond = framesPerSecond;
    }

    /// <summary>The name clients ask for in the RTSP URL (<c>rtsp://host:port/NAME</c>).</summary>
    public string Name { get; }
    public IReadOnlyList<JpegImage> Frames { get; }
    public double FramesPerSecond { get; }
    public int Width => Frames[0].Width;
    public int Height => Frames[0].Height;
    public TimeSpan Duration => TimeSpan.FromSeconds(Frames.Count / FramesPerSecond);

    /// <summary>Reads a clip file; the stream name is the file name without its extension unless given.</summary>
    public static MjpegClip Load(string path, double framesPerSecond = DefaultFramesPerSecond, string? name = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new VideoClipException($"The clip {path} does not exist: give the path of an MJPEG file (data/video/make-clip.sh makes one).");
        if (info.Length > MaxFileBytes) throw new VideoClipException($"The clip {path} is {info.Length} bytes; clips are held in memory and may be at most {MaxFileBytes} bytes.");
        var bytes = File.ReadAllBytes(path);
        return new MjpegClip(name ?? Path.GetFileNameWithoutExtension(path), Split(bytes, path).Select(JpegImage.Parse).ToList(), framesPerSecond);
    }

    /// <summary>The frames of a raw or textbook-framed MJPEG file.</summary>
    public static List<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> file, string what = "the clip")
    {
        var frames = new List<ReadOnlyMemory<byte>>();
        var span = file.Span;
        if (span.Length >= 5 && IsDigits(span[..5]))
        {
            for (var p = 0; p < span.Length;)
            {
                if (p + 5 > span.Length || !IsDigits(span.Slice(p, 5)))
                    throw new VideoClipException($"{what} is damaged: no 5-digit frame length at byte {p}.");
                var length = int.Parse(Encoding.ASCII.GetString(span.Slice(p, 5)), CultureInfo.InvariantCulture);
                if (p + 5 + length > span.Length) throw new VideoClipException($"{what} is cut short: its frame at byte {p} needs {length} bytes.");
                frames.Add(file.Slice(p + 5, length));
                p += 5 + length;
            }
            return frames;
        }
        // Raw MJPEG: the header segments are skipped by their lengths (an EXIF thumbnail inside APP1 has an FF D9 of
        // its own); inside the scan data every FF byte is stuffed (FF 00), so there FF D9 only ever ends the image.
        var start = 0;
        while (start < span.Length)
        {
            if (span.Length - start < 4 || span[start] != 0xFF || span[start + 1] != 0xD8)
                throw new VideoClipException($"{what} is neither raw MJPEG nor the textbook's format: no JPEG starts at byte {start}.");
            var scan = start + 2;
            while (scan + 4 <= span.Length && span[scan] == 0xFF && span[scan + 1] != 0xDA)
                scan += 2 + (span[scan + 2] << 8 | span[scan + 3]);
            var end = scan < span.Length ? span[scan..].IndexOf([(byte)0xFF, (byte)0xD9]) : -1;
            if (end < 0) throw new VideoClipException($"{what} is cut short: the JPEG at byte {start} has no end marker.");
            frames.Add(file[start..(scan + end + 2)]);
            start = scan + end + 2;
        }
        return frames;
    }

    private static bool IsDigits(ReadOnlySpan<byte> span)
    {
        foreach (var b in span) if (b is < (byte)'0' or > (byte)'9') return false;
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {Frames.Count} frames {Width}x{Height} at {FramesPerSecond} fps ({Duration.TotalSeconds:F1} s)");
}

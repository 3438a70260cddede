namespace NetLabs.Video;

/// <summary>
/// Collects the RFC 2435 fragments of one frame (one RTP timestamp), in whatever order they arrive, and says when
/// they cover the frame from offset 0 to the end of the packet with the marker bit. Memory is bounded by
/// <c>maxFrameBytes</c>: a frame announced larger is abandoned.
/// </summary>
internal sealed class JpegFrameAssembler(uint timestamp, TimeSpan firstPacketAt, int maxFrameBytes)
{
    private readonly SortedDictionary<int, ReadOnlyMemory<byte>> _fragments = [];
    private int _bytes;
    private int _end = -1;
    private byte _type;
    private int _width, _height;
    private byte[]? _tables;

    public uint Timestamp { get; } = timestamp;
    public TimeSpan FirstPacketAt { get; } = firstPacketAt;
    public int Packets { get; private set; }
    public bool TooLarge { get; private set; }
    /// <summary>The lowest and highest (extended) RTP sequence numbers of its packets so far.</summary>
    public long LowestSequence { get; private set; } = long.MaxValue;
    public long HighestSequence { get; private set; } = long.MinValue;

    public void Add(JpegFragment fragment, bool marker, long sequence)
    {
        LowestSequence = Math.Min(LowestSequence, sequence);
        HighestSequence = Math.Max(HighestSequence, sequence);
        if (TooLarge || _fragments.ContainsKey(fragment.FragmentOffset)) return; // a duplicate adds nothing
        if (fragment.FragmentOffset + fragment.Data.Length > maxFrameBytes || _bytes + fragment.Data.Length > maxFrameBytes)
        {
            TooLarge = true;
            _fragments.Clear();
            return;
        }
        _fragments[fragment.FragmentOffset] = fragment.Data.ToArray(); // the receive buffer is reused: copy
        _bytes += fragment.Data.Length;
        Packets++;
        if (fragment.FragmentOffset == 0 || _tables is null)
        {
            _type = fragment.Type;
            _width = fragment.Width;
            _height = fragment.Height;
            _tables ??= fragment.QuantizationTables;
            if (fragment.FragmentOffset == 0 && fragment.QuantizationTables is not null) _tables = fragment.QuantizationTables;
        }
        if (marker) _end = fragment.FragmentOffset + fragment.Data.Length;
    }

    /// <summary>True when every byte from 0 to the marker packet's end is here, and the tables came.</summary>
    public bool IsComplete
    {
        get
        {
            if (TooLarge || _end < 0 || _tables is null || !_fragments.ContainsKey(0)) return false;
            var next = 0;
            foreach (var (offset, data) in _fragments)
            {
                if (offset > next) return false;
                next = Math.Max(next, offset + data.Length);
            }
            return next == _end;
        }
    }

    public (byte[] Jpeg, int Width, int Height) Build()
    {
        var scan = new byte[_end];
        foreach (var (offset, data) in _fragments)
            data.Span[..Math.Min(data.Length, _end - offset)].CopyTo(scan.AsSpan(offset));
        return (JpegHeaders.BuildJpeg(_type, _width, _height, _tables!, scan), _width, _height);
    }
}

using System.Globalization;
using System.Text;

namespace NetLabs.Proxy;

/// <summary>How a message's body is delimited (RFC 9112 §6.3).</summary>
public enum BodyFraming
{
    /// <summary>No body (HEAD answers, 1xx, 204, 304, requests without length).</summary>
    None,
    /// <summary>Exactly <c>Content-Length</c> bytes.</summary>
    Length,
    /// <summary><c>Transfer-Encoding: chunked</c>: chunks, each with its size, up to a zero-size one.</summary>
    Chunked,
    /// <summary>Everything until the sender closes (responses only: an HTTP/1.0 server's way).</summary>
    UntilClose,
}

/// <summary>
/// Reads one message body, decoded from its framing: the caller sees the body's bytes only, and <see cref="ReadAsync"/>
/// returns 0 at its true end. A sender that closes before that end raises <see cref="IncompleteBodyException"/>,
/// so a cut-off object is never taken for a whole one.
/// </summary>
public sealed class MessageBody
{
    private readonly HttpMessageReader _reader;
    private long _remaining; // in the body (Length) or in the current chunk (Chunked)
    private bool _done;
    private bool _startedChunks; // a chunk was read: the next size line follows that chunk's CRLF

    private MessageBody(HttpMessageReader reader, BodyFraming framing, long length)
    {
        _reader = reader;
        Framing = framing;
        Length = framing == BodyFraming.Length ? length : null;
        _remaining = framing == BodyFraming.Length ? length : 0;
        _done = framing == BodyFraming.None || (framing == BodyFraming.Length && length == 0);
    }

    public BodyFraming Framing { get; }
    /// <summary>The length announced by Content-Length, or null (chunked, until close, none).</summary>
    public long? Length { get; }
    /// <summary>Body bytes read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>The body of a request.</summary>
    /// <exception cref="FormatException">Unusable framing (two different lengths, a transfer coding other than chunked).</exception>
    public static MessageBody ForRequest(HttpMessageReader reader, HttpHead request)
    {
        var (framing, length) = Framing_(request, isResponse: false);
        return new MessageBody(reader, framing, length);
    }

    /// <summary>The body of a response to a request with <paramref name="requestMethod"/>.</summary>
    public static MessageBody ForResponse(HttpMessageReader reader, HttpHead response, string requestMethod, int status)
    {
        if (requestMethod == "HEAD" || status is (>= 100 and < 200) or 204 or 304) return new MessageBody(reader, BodyFraming.None, 0);
        var (framing, length) = Framing_(response, isResponse: true);
        return new MessageBody(reader, framing, length);
    }

    private static (BodyFraming, long) Framing_(HttpHead head, bool isResponse)
    {
        var transferEncoding = head["Transfer-Encoding"];
        if (transferEncoding is not null)
        {
            // Only chunked as the final coding makes sense to a proxy that decodes; anything else is refused.
            if (!transferEncoding.Trim().EndsWith("chunked", StringComparison.OrdinalIgnoreCase) || transferEncoding.Contains(','))
            {
                if (isResponse) return (BodyFraming.UntilClose, 0);
                throw new FormatException($"Transfer-Encoding \"{transferEncoding}\" is not supported (only chunked).");
            }
            return (BodyFraming.Chunked, 0);
        }
        string? seen = null;
        foreach (var (key, value) in head.Fields)
        {
            if (!key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            if (seen is not null && seen != value.Trim()) throw new FormatException("Two different Content-Length fields.");
            seen = value.Trim();
        }
        if (seen is not null)
        {
            if (!long.TryParse(seen, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                throw new FormatException($"Content-Length \"{seen}\" is not a length.");
            return (BodyFraming.Length, length);
        }
        return isResponse ? (BodyFraming.UntilClose, 0) : (BodyFraming.None, 0);
    }

    /// <summary>Reads body bytes into <paramref name="destination"/>; 0 at the end of the body.</summary>
    /// <exception cref="IncompleteBodyException">The sender closed before the end of the body.</exception>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_done || destination.Length == 0) return 0;
        switch (Framing)
        {
            case BodyFraming.UntilClose:
            {
                var read = await _reader.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
                if (read == 0) _done = true;
                BytesRead += read;
                return read;
            }
            case BodyFraming.Chunked when _remaining == 0:
            {
                if (_startedChunks) await ExpectLineEndAsync(cancellationToken).ConfigureAwait(false);
                _startedChunks = true;
                _remaining = await ReadChunkSizeAsync(cancellationToken).ConfigureAwait(false);
                if (_remaining == 0)
                {
                    await SkipTrailersAsync(cancellationToken).ConfigureAwait(false);
                    _done = true;
                    return 0;
                }
                return await ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            }
            default:
            {
                var want = (int)Math.Min(destination.Length, _remaining);
                var read = await _reader.ReadAsync(destination[..want], cancellationToken).ConfigureAwait(false);
                if (read == 0) throw new IncompleteBodyException(BytesRead, Length);
                _remaining -= read;
                BytesRead += read;
                if (_remaining == 0 && Framing == BodyFraming.Length) _done = true;
                return read;
            }
        }
    }

    private async ValueTask ExpectLineEndAsync(CancellationToken cancellationToken)
    {
        var line = await ReadFramingLineAsync(cancellationToken).ConfigureAwait(false);
        if (line.Length != 0) throw new FormatException("A chunk is longer than its size says.");
    }

    private async ValueTask<long> ReadChunkSizeAsync(CancellationToken cancellationToken)
    {
        var line = await ReadFramingLineAsync(cancellationToken).ConfigureAwait(false);
        var semicolon = line.IndexOf(';'); // chunk extensions are ignored
        var size = (semicolon < 0 ? line : line[..semicolon]).Trim();
        if (size.Length is 0 or > 15 || !long.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            throw new FormatException($"Not a chunk size: \"{(line.Length > 40 ? line[..40] : line)}\".");
        return value;
    }

    private async ValueTask SkipTrailersAsync(CancellationToken cancellationToken)
    {
        for (var count = 0; ; count++)
        {
            if (count > 100) throw new FormatException("More than 100 trailer fields.");
            if ((await ReadFramingLineAsync(cancellationToken).ConfigureAwait(false)).Length == 0) return;
        }
    }

    private async ValueTask<string> ReadFramingLineAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _reader.ReadLineAsync(4096, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new IncompleteBodyException(BytesRead, null);
        }
    }
}

/// <summary>The sender closed the connection before the end of a body: what came is a fragment, never a whole object.</summary>
public sealed class IncompleteBodyException(long received, long? expected)
    : IOException(expected is null
        ? $"The connection closed after {received} bytes, in the middle of a chunked body."
        : $"The connection closed after {received} of {expected} bytes.")
{
    public long Received { get; } = received;
    public long? Expected { get; } = expected;
}

/// <summary>
/// Writes a body to a client in the framing its version allows: Content-Length when the length is known, chunked to an
/// HTTP/1.1 client otherwise, and until-close to an HTTP/1.0 client (which then cannot keep the connection).
/// </summary>
public sealed class BodyWriter(Stream stream, BodyFraming framing)
{
    private static readonly byte[] LastChunk = "0\r\n\r\n"u8.ToArray();
    private readonly byte[] _chunkHead = new byte[32];

    public BodyFraming Framing { get; } = framing;
    public long BytesWritten { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (data.Length == 0) return;
        if (Framing == BodyFraming.Chunked)
        {
            var headLength = Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n", _chunkHead);
            await stream.WriteAsync(_chunkHead.AsMemory(0, headLength), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        else await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        BytesWritten += data.Length;
    }

    /// <summary>Ends the body (the last chunk, for chunked).</summary>
    public ValueTask EndAsync(CancellationToken cancellationToken) =>
        Framing == BodyFraming.Chunked ? stream.WriteAsync(LastChunk, cancellationToken) : ValueTask.CompletedTask;
}

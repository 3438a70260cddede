namespace NetLabs.Capture;

/// <summary>
/// Names the TLS records of one direction of a TCP connection from their 5-byte headers (type, version, length), the
/// only part of TLS that is never encrypted. Fed the segments in sequence order, it skips each record's body and
/// reads the next header, even across segments. A stream that starts as text (SMTP before STARTTLS) is taken for TLS
/// from the first segment that starts with a record header.
/// </summary>
internal sealed class TlsRecordWalker
{
    private readonly byte[] _header = new byte[5];
    private int _headerLength;
    private int _bodyLeft;
    private bool _inTls;
    private bool _encrypted; // after ChangeCipherSpec (TLS 1.2) the handshake messages are encrypted too

    /// <summary>A hole in the stream: the next record header cannot be found, so start looking again.</summary>
    public void Lose() => (_inTls, _headerLength, _bodyLeft) = (false, 0, 0);

    /// <summary>The records whose headers start in this segment's payload.</summary>
    public IReadOnlyList<string> Walk(ReadOnlySpan<byte> payload)
    {
        var names = new List<string>();
        if (payload.IsEmpty) return names;
        if (!_inTls)
        {
            if (!LooksLikeRecord(payload)) return names;
            (_inTls, _headerLength, _bodyLeft) = (true, 0, 0);
        }
        var i = 0;
        while (i < payload.Length)
        {
            if (_bodyLeft > 0)
            {
                var skip = Math.Min(_bodyLeft, payload.Length - i);
                (_bodyLeft, i) = (_bodyLeft - skip, i + skip);
                continue;
            }
            var take = Math.Min(5 - _headerLength, payload.Length - i);
            payload.Slice(i, take).CopyTo(_header.AsSpan(_headerLength));
            (_headerLength, i) = (_headerLength + take, i + take);
            if (_headerLength < 5) break;
            _headerLength = 0;
            if (_header[0] is < 20 or > 23 || _header[1] != 3)
            {
                Lose(); // not a record header after all: the stream is not (or no longer) TLS
                break;
            }
            _bodyLeft = _header[3] << 8 | _header[4];
            names.AddRange(Name(_header[0], payload[i..Math.Min(payload.Length, i + _bodyLeft)]));
        }
        return Compress(names);
    }

    private static bool LooksLikeRecord(ReadOnlySpan<byte> bytes) => bytes.Length >= 3 && bytes[0] is >= 20 and <= 23 && bytes[1] == 3 && bytes[2] <= 4;

    private IEnumerable<string> Name(byte type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case 20:
                _encrypted = true;
                return ["ChangeCipherSpec"];
            case 21:
                return ["Alert"];
            case 23:
                return ["Application Data"];
        }
        if (_encrypted) return ["Handshake (encrypted)"];
        // A handshake record holds one or more messages: type (1 byte), length (3 bytes), body.
        var messages = new List<string>();
        for (var j = 0; j + 4 <= body.Length;)
        {
            messages.Add(HandshakeName(body[j]));
            j += 4 + (body[j + 1] << 16 | body[j + 2] << 8 | body[j + 3]);
        }
        return messages.Count > 0 ? messages : ["Handshake"];
    }

    internal static string HandshakeName(byte type) => type switch
    {
        0 => "HelloRequest", 1 => "ClientHello", 2 => "ServerHello", 4 => "NewSessionTicket", 8 => "EncryptedExtensions",
        11 => "Certificate", 12 => "ServerKeyExchange", 13 => "CertificateRequest", 14 => "ServerHelloDone",
        15 => "CertificateVerify", 16 => "ClientKeyExchange", 20 => "Finished", _ => $"Handshake type {type}",
    };

    /// <summary>"Application Data ×3" rather than the same name three times.</summary>
    private static List<string> Compress(List<string> names)
    {
        var result = new List<string>();
        for (var i = 0; i < names.Count;)
        {
            var run = 1;
            while (i + run < names.Count && names[i + run] == names[i]) run++;
            result.Add(run == 1 ? names[i] : $"{names[i]} ×{run}");
            i += run;
        }
        return result;
    }
}

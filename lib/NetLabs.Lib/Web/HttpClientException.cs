using NetLabs.Hosting;

namespace NetLabs.Web;

/// <summary>What went wrong with a response, for code that reacts differently to each.</summary>
public enum HttpClientFailure
{
    /// <summary>No complete response within the timeout.</summary>
    TimedOut,
    /// <summary>The server closed the connection before the first byte of a response.</summary>
    ClosedWithoutAnswer,
    /// <summary>The server closed (or reset) the connection in the middle of the response.</summary>
    Truncated,
    /// <summary>The bytes are not an HTTP response: status line, header fields, Content-Length or chunked framing.</summary>
    Malformed,
    /// <summary>The response is larger than <see cref="HttpRawRequestOptions.MaxResponseBytes"/>.</summary>
    TooLarge,
}

/// <summary>
/// <see cref="HttpRawClient"/> and <see cref="HttpRawConnection"/> got no complete, well-formed response. The message
/// is one sentence for the user; the exception carries the exchange so far, to show what did arrive.
/// (A connection that cannot be made at all is the system's <see cref="System.Net.Sockets.SocketException"/>.)
/// </summary>
public sealed class HttpClientException : NetLabsException
{
    internal HttpClientException(HttpClientFailure failure, string message, string host, int port, byte[] requestBytes,
        byte[] responseBytes, int? statusCode, Exception? inner = null) : base(message, inner)
    {
        Failure = failure;
        Host = host;
        Port = port;
        RequestBytes = requestBytes;
        ResponseBytes = responseBytes;
        StatusCode = statusCode;
    }

    public HttpClientFailure Failure { get; }
    public string Host { get; }
    public int Port { get; }
    /// <summary>The request as it was to be sent.</summary>
    public byte[] RequestBytes { get; }
    /// <summary>Every byte received before the failure: part of a head, or a head and part of the body.</summary>
    public byte[] ResponseBytes { get; }
    /// <summary>The status code, when the response head had arrived.</summary>
    public int? StatusCode { get; }
}

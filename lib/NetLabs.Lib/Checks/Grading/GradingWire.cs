using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace NetLabs.Checks.Grading;

/// <summary>
/// The grading protocol's one message form: a JSON object on one line (UTF-8, "\n"). Read a byte at a time so that
/// raw bytes following a line (the web bridge) stay in the stream, and bounded so that a peer cannot make us buffer
/// without end.
/// </summary>
internal static class GradingWire
{
    public const int MaxLine = 1 << 20;

    public static async Task WriteAsync(Stream stream, JsonObject message, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(message.ToJsonString() + "\n"), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next message, or null when the peer closed the connection first.</summary>
    public static async Task<JsonObject?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new MemoryStream();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false) == 0) return null;
            if (one[0] == (byte)'\n') break;
            if (line.Length >= MaxLine) throw new InvalidDataException($"a grading message longer than {MaxLine} bytes");
            line.WriteByte(one[0]);
        }
        return JsonNode.Parse(line.ToArray()) as JsonObject ?? throw new InvalidDataException("a grading message that is not a JSON object");
    }

    public static async Task<TcpClient> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient(endPoint.AddressFamily) { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return tcp;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>A call: connect, send the request, read the one reply; an "error" reply becomes the student's exception.</summary>
    public static async Task<JsonObject> CallAsync(IPEndPoint host, JsonObject request, CancellationToken cancellationToken)
    {
        using var tcp = await ConnectAsync(host, cancellationToken).ConfigureAwait(false);
        var stream = tcp.GetStream();
        await WriteAsync(stream, request, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(stream, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException("the graded notebook closed the call without an answer (did its kernel stop?)");
        return Answer(reply);
    }

    /// <summary>The reply of a call, or the student's exception again when it is an "error" reply.</summary>
    public static JsonObject Answer(JsonObject reply) =>
        (string?)reply["error"] is { } type ? throw StudentException(type, (string?)reply["message"] ?? "") : reply;

    /// <summary>
    /// The exception a student's function threw in the graded kernel, as the checks see it here: the usual mistakes of
    /// code over bytes (an index past the end, a null, a bad argument) as themselves, so a card names them as the
    /// student's own notebook does; anything else by name and message.
    /// </summary>
    public static Exception StudentException(string type, string message) => type switch
    {
        nameof(NotImplementedException) => new NotImplementedException(message),
        nameof(OperationCanceledException) or nameof(TaskCanceledException) => new OperationCanceledException(message),
        nameof(IndexOutOfRangeException) => new IndexOutOfRangeException(message),
        nameof(ArgumentOutOfRangeException) => new ArgumentOutOfRangeException(null, message),
        nameof(ArgumentNullException) => new ArgumentNullException(null, message),
        nameof(ArgumentException) => new ArgumentException(message),
        nameof(NullReferenceException) => new NullReferenceException(message),
        nameof(InvalidOperationException) => new InvalidOperationException(message),
        nameof(FormatException) => new FormatException(message),
        nameof(OverflowException) => new OverflowException(message),
        nameof(DivideByZeroException) => new DivideByZeroException(message),
        nameof(InvalidCastException) => new InvalidCastException(message),
        nameof(KeyNotFoundException) => new KeyNotFoundException(message),
        _ => new GradedCodeException(type, message),
    };

    /// <summary>The peer closes a call it gave up on: that cancels the work for it like the caller's own token would.</summary>
    public static CancellationToken CancelledWhenClosed(NetworkStream stream, CancellationTokenSource limit)
    {
        _ = Task.Run(async () =>
        {
            try { await stream.ReadAsync(new byte[1], limit.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
            await limit.CancelAsync().ConfigureAwait(false);
        }, CancellationToken.None);
        return limit.Token;
    }

    public static JsonObject Error(Exception error) => new() { ["error"] = error.GetType().Name, ["message"] = error.Message };
}

/// <summary>An exception thrown by the student's code in the graded kernel, carried back to the checks by name and message.</summary>
public sealed class GradedCodeException(string type, string message) : Exception($"{type}: {message}")
{
    public string TypeName { get; } = type;
}

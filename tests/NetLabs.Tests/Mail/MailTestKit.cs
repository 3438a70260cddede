using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;
using NetLabs.Mail;
using NetLabs.Tests.Support;

namespace NetLabs.Tests.Mail;

/// <summary>Shared bits of the mail tests: servers on port 0, bounded waits, a raw line-level connection.</summary>
internal static class MailTestKit
{
    public const string User = "student";
    public const string Password = "s3cret-pa55";

    public static CancellationToken Deadline(int seconds = 15) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    public static LocalMailServer StartServer(Func<LocalMailServerOptions, LocalMailServerOptions>? configure = null)
    {
        var options = new LocalMailServerOptions
        {
            ImplicitTlsPort = 0,
            Accounts = new Dictionary<string, string> { [User] = Password },
            IdleTimeout = TimeSpan.FromSeconds(10),
        };
        return LocalMailServer.Start(configure is null ? options : configure(options));
    }

    public static MimeMessage Plain(string subject = "Hello", string body = "Hi there.\r\n", string to = "bob@localhost") =>
        MailMessages.PlainText("alice@netlabs.test", to, subject, body);

    public static string ImagePath => Path.Combine(RepoPaths.Data, "mail", "envelope.png");
}

/// <summary>A bare TCP connection for bad-input tests: write any bytes, read reply lines.</summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private SmtpLineReader _reader = null!;
    private NetworkStream _stream = null!;

    private RawConnection(IPAddress from) => _tcp = new TcpClient(new IPEndPoint(from, 0));

    public static Task<RawConnection> OpenAsync(int port, CancellationToken cancellationToken) =>
        OpenAsync(IPAddress.Loopback, port, cancellationToken);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> from <paramref name="from"/> (any 127.x.y.z: the loopback net is a /8, so a test has many client addresses).</summary>
    public static async Task<RawConnection> OpenAsync(IPAddress from, int port, CancellationToken cancellationToken)
    {
        var connection = new RawConnection(from);
        await connection._tcp.ConnectAsync("127.0.0.1", port, cancellationToken);
        connection._stream = connection._tcp.GetStream();
        connection._reader = new SmtpLineReader(connection._stream);
        return connection;
    }

    public Task WriteAsync(string text, CancellationToken cancellationToken) => WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
    public async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken) => await _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>Reads one complete reply and returns its lines ("250-…", "250 …").</summary>
    public async Task<List<string>> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (true)
        {
            var status = await _reader.ReadLineAsync(4096, cancellationToken);
            if (status != SmtpLineStatus.Line) throw new IOException("connection closed while reading a reply; got: " + string.Join(" | ", lines));
            var line = Encoding.UTF8.GetString(_reader.Line.Span);
            lines.Add(line);
            if (line.Length <= 3 || line[3] == ' ') return lines;
        }
    }

    public async Task<int> CodeAsync(CancellationToken cancellationToken) => int.Parse((await ReadReplyAsync(cancellationToken))[^1][..3]);

    /// <summary>Sends a command line and returns the reply code.</summary>
    public async Task<int> CommandAsync(string line, CancellationToken cancellationToken)
    {
        await WriteAsync(line + "\r\n", cancellationToken);
        return await CodeAsync(cancellationToken);
    }

    /// <summary>True once the server has closed the connection (reads return end of stream).</summary>
    public async Task<bool> ClosedByServerAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _reader.ReadLineAsync(4096, cancellationToken) == SmtpLineStatus.Line) { }
            return true;
        }
        catch (IOException) { return true; }
    }

    public void Abort() => _tcp.Client.Close(0);

    public ValueTask DisposeAsync() { _tcp.Dispose(); return ValueTask.CompletedTask; }
}

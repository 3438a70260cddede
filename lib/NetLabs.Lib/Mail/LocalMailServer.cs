using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NetLabs.Display;

namespace NetLabs.Mail;

/// <summary>
/// A small ESMTP server for the lab (RFC 5321 with SIZE, 8BITMIME, PIPELINING, STARTTLS, AUTH PLAIN/LOGIN).
/// It accepts mail for its configured domains only, keeps what it receives in memory (and optionally as .eml
/// files) and serves many sessions at once. Start it with <see cref="Start"/>, stop it with
/// <see cref="StopAsync"/> or <c>await using</c>.
/// </summary>
public sealed class LocalMailServer : IAsyncDisposable, IHtmlDisplay
{
    private readonly TcpListener _listener;
    private readonly TcpListener? _tlsListener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly HashSet<Task> _sessions = [];
    private readonly List<ReceivedMessage> _messages = [];
    private readonly Queue<SmtpTranscript> _recentTranscripts = new();
    private TaskCompletionSource _messageArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _acceptedCount, _sessionCount, _nextId;
    private int _activeSessions;

    private LocalMailServer(LocalMailServerOptions options)
    {
        Options = options;
        Certificate = options.EnableStartTls || options.ImplicitTlsPort is not null ? SelfSignedCertificate.Create(options.HostName) : null;
        _listener = new TcpListener(options.Address, options.Port);
        if (options.ImplicitTlsPort is { } tlsPort) _tlsListener = new TcpListener(options.Address, tlsPort);
        if (options.EmlDirectory is not null) Directory.CreateDirectory(options.EmlDirectory);
    }

    /// <summary>Binds the port(s) and starts accepting connections in the background.</summary>
    public static LocalMailServer Start(LocalMailServerOptions? options = null)
    {
        var server = new LocalMailServer(options ?? new LocalMailServerOptions());
        server._listener.Start(512);
        server._acceptLoops.Add(Task.Run(() => server.AcceptLoopAsync(server._listener, implicitTls: false)));
        if (server._tlsListener is not null)
        {
            server._tlsListener.Start(512);
            server._acceptLoops.Add(Task.Run(() => server.AcceptLoopAsync(server._tlsListener, implicitTls: true)));
        }
        return server;
    }

    public LocalMailServerOptions Options { get; }
    public string Host => Options.Address.ToString();
    /// <summary>The plain/STARTTLS port actually bound.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    /// <summary>The implicit TLS port actually bound, if enabled.</summary>
    public int? ImplicitTlsPort => (_tlsListener?.LocalEndpoint as IPEndPoint)?.Port;

    /// <summary>The self-signed certificate made at start (null when TLS is off).</summary>
    public X509Certificate2? Certificate { get; }
    /// <summary>Its SHA-256 fingerprint: give it to a client to trust exactly this certificate.</summary>
    public string? CertificateSha256 => Certificate?.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>Client settings that trust this server's certificate (by its pinned fingerprint) and nothing more.</summary>
    public SmtpClientOptions TrustingClientOptions(SmtpClientOptions? options = null) =>
        (options ?? new SmtpClientOptions()) with { TrustedCertificateSha256 = CertificateSha256 };

    public long AcceptedCount => Interlocked.Read(ref _acceptedCount);
    public long SessionCount => Interlocked.Read(ref _sessionCount);
    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    /// <summary>The messages kept in memory, oldest first.</summary>
    public IReadOnlyList<ReceivedMessage> Messages { get { lock (_messages) return _messages.ToArray(); } }

    /// <summary>Transcripts (server side) of the last 50 sessions, oldest first.</summary>
    public IReadOnlyList<SmtpTranscript> RecentTranscripts { get { lock (_recentTranscripts) return _recentTranscripts.ToArray(); } }

    /// <summary>Forgets the stored messages (the count of accepted ones stays).</summary>
    public void ClearMessages() { lock (_messages) _messages.Clear(); }

    /// <summary>Waits until at least <paramref name="count"/> messages have been accepted in total.</summary>
    public async Task WaitForAcceptedAsync(long count, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task arrived;
            lock (_messages) arrived = _messageArrived.Task;
            if (AcceptedCount >= count) return;
            await arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, bool implicitTls)
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(_stopping.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; } // a client that vanished while being accepted
            Interlocked.Increment(ref _sessionCount);
            var active = Interlocked.Increment(ref _activeSessions);
            var session = new SmtpServerSession(this, client, implicitTls, tooBusy: active > Options.MaxSessions);
            var task = Task.Run(() => session.RunAsync(_stopping.Token));
            lock (_sessions) _sessions.Add(task);
            _ = task.ContinueWith(t =>
            {
                Interlocked.Decrement(ref _activeSessions);
                lock (_sessions) _sessions.Remove(t);
            }, TaskScheduler.Default);
        }
    }

    internal long NextMessageId() => Interlocked.Increment(ref _nextId);

    /// <summary>Keeps an accepted message; the 250 reply is sent only after this returns (and the .eml is written).</summary>
    internal async Task StoreAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        if (Options.EmlDirectory is not null)
            await File.WriteAllBytesAsync(Path.Combine(Options.EmlDirectory, $"{message.ReceivedAt:yyyyMMdd-HHmmss}-{message.Id:D6}.eml"), message.Raw, cancellationToken).ConfigureAwait(false);
        TaskCompletionSource arrived;
        lock (_messages)
        {
            if (Options.MaxStoredMessages > 0)
            {
                if (_messages.Count >= Options.MaxStoredMessages) _messages.RemoveAt(0);
                _messages.Add(message);
            }
            Interlocked.Increment(ref _acceptedCount);
            arrived = _messageArrived;
            _messageArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        arrived.TrySetResult();
    }

    internal void SessionEnded(SmtpTranscript? transcript)
    {
        if (transcript is null) return;
        lock (_recentTranscripts)
        {
            if (_recentTranscripts.Count >= 50) _recentTranscripts.Dequeue();
            _recentTranscripts.Enqueue(transcript);
        }
    }

    /// <summary>
    /// Stops accepting, tells running sessions to end (they answer 421), and waits for them at most
    /// <paramref name="drain"/> (default 5 s).
    /// </summary>
    public async Task StopAsync(TimeSpan? drain = null)
    {
        if (!_stopping.IsCancellationRequested) _stopping.Cancel();
        _listener.Stop();
        _tlsListener?.Stop();
        Task[] running;
        lock (_sessions) running = [.. _sessions, .. _acceptLoops];
        try { await Task.WhenAll(running).WaitAsync(drain ?? TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Certificate?.Dispose();
        _stopping.Dispose();
    }

    public string ToHtml() => Summary().ToHtml();
    public override string ToString() => Summary().ToString();

    private HtmlTable Summary() => new("Local mail server", ["what", "value"],
    [
        ["SMTP (plain, STARTTLS)", $"{Host}:{Port}"],
        ["implicit TLS", ImplicitTlsPort is { } p ? $"{Host}:{p}" : "off"],
        ["certificate SHA-256", CertificateSha256 ?? "none"],
        ["domains", string.Join(", ", Options.Domains)],
        ["authentication", Options.Accounts.Count == 0 ? "none" : $"{Options.Accounts.Count} account(s){(Options.RequireAuthentication ? ", required" : "")}"],
        ["sessions / active", $"{SessionCount} / {ActiveSessions}"],
        ["messages accepted", AcceptedCount.ToString()],
    ]);
}

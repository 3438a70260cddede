using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NetLabs.Display;
using NetLabs.Hosting;

namespace NetLabs.Mail;

/// <summary>
/// A small ESMTP server for the lab (RFC 5321 with SIZE, 8BITMIME, PIPELINING, STARTTLS, AUTH PLAIN/LOGIN).
/// It accepts mail for its configured domains only, keeps what it receives in memory (and optionally as .eml
/// files) and serves many sessions at once, at most <see cref="LocalMailServerOptions.MaxSessionsPerAddress"/> from one
/// client address, and locks out an address that keeps failing to log in. Start it with <see cref="Start"/>, stop it
/// with <see cref="LabServer{TLogEntry, TCounters}.StopAsync"/> or <c>await using</c>; <see cref="LabServer{TLogEntry, TCounters}.Logged"/>
/// raises an entry for every accepted message and every refused session or login.
/// </summary>
public sealed class LocalMailServer : LabServer<MailServerLogEntry, MailServerCounters>
{
    private const string Service = "the mail server";
    private readonly Socket _listener;
    private readonly Socket? _tlsListener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly HashSet<Task> _sessions = [];
    private readonly Dictionary<IPAddress, int> _sessionsByAddress = [];
    private readonly BoundedLog<ReceivedMessage> _messages;
    private readonly BoundedLog<SmtpTranscript> _recentTranscripts;
    private TaskCompletionSource _messageArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _acceptedCount, _sessionCount, _refusedCount, _authFailures, _authLockouts, _nextId;
    private int _activeSessions;

    private LocalMailServer(LocalMailServerOptions options, Socket listener, Socket? tlsListener, X509Certificate2? certificate)
        : base((IPEndPoint)listener.LocalEndPoint!, options.LogCapacity, TimeSpan.FromSeconds(5))
    {
        Options = options;
        _listener = listener;
        _tlsListener = tlsListener;
        ImplicitTlsPort = (tlsListener?.LocalEndPoint as IPEndPoint)?.Port;
        Certificate = certificate;
        CertificateSha256 = certificate?.GetCertHashString(HashAlgorithmName.SHA256);
        _messages = new BoundedLog<ReceivedMessage>(options.MaxStoredMessages);
        _recentTranscripts = new BoundedLog<SmtpTranscript>(options.KeepTranscripts ? options.MaxKeptTranscripts : 0);
        // The table holds one entry per address that failed lately; sessions bound the rate it can grow at, this its size.
        Throttle = new AuthenticationThrottle(options.MaxAuthenticationFailures, options.AuthenticationFailureWindow,
            maxAddresses: 4096, TimeProvider.System);
    }

    /// <summary>
    /// Binds the port(s) and starts accepting connections in the background. Throws <see cref="ServerStartException"/>
    /// (port in use, address not of this machine, a setting that cannot work, a folder that cannot be made).
    /// </summary>
    public static LocalMailServer Start(LocalMailServerOptions? options = null)
    {
        options ??= new LocalMailServerOptions();
        options.Validate();
        if (options.EmlDirectory is not null)
        {
            try { Directory.CreateDirectory(options.EmlDirectory); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ServerStartException($"Cannot use '{options.EmlDirectory}' to store messages: {e.Message}", e);
            }
        }
        var listener = Listener.BindTcp(options.Address, options.Port, Service, LocalMailServerOptions.LabPort);
        Socket? tlsListener = null;
        try
        {
            if (options.ImplicitTlsPort is { } tlsPort) tlsListener = Listener.BindTcp(options.Address, tlsPort, Service + " (implicit TLS)", 465);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var certificate = options.EnableStartTls || tlsListener is not null ? SelfSignedCertificate.Create(options.HostName) : null;
        var server = new LocalMailServer(options, listener, tlsListener, certificate);
        server._acceptLoops.Add(Task.Run(() => server.AcceptLoopAsync(listener, implicitTls: false)));
        if (tlsListener is not null) server._acceptLoops.Add(Task.Run(() => server.AcceptLoopAsync(tlsListener, implicitTls: true)));
        return server;
    }

    public LocalMailServerOptions Options { get; }
    public string Host => EndPoint.Address.ToString();
    /// <summary>The implicit TLS port actually bound, if enabled.</summary>
    public int? ImplicitTlsPort { get; }

    /// <summary>The self-signed certificate made at start (null when TLS is off); disposed by <see cref="DisposeAsync"/>.</summary>
    public X509Certificate2? Certificate { get; }
    /// <summary>Its SHA-256 fingerprint: give it to a client to trust exactly this certificate.</summary>
    public string? CertificateSha256 { get; }

    /// <summary>Client settings that trust this server's certificate (by its pinned fingerprint) and nothing more.</summary>
    public SmtpClientOptions TrustingClientOptions(SmtpClientOptions? options = null) =>
        (options ?? new SmtpClientOptions()) with { TrustedCertificateSha256 = CertificateSha256 };

    public override MailServerCounters Counters => new(
        Interlocked.Read(ref _sessionCount), Volatile.Read(ref _activeSessions), Interlocked.Read(ref _acceptedCount),
        Interlocked.Read(ref _refusedCount), Interlocked.Read(ref _authFailures), Interlocked.Read(ref _authLockouts));

    /// <summary>The messages kept in memory (the latest <see cref="LocalMailServerOptions.MaxStoredMessages"/>), oldest first.</summary>
    public IReadOnlyList<ReceivedMessage> Messages => _messages.Snapshot();

    /// <summary>Transcripts (server side) of the latest sessions, oldest first.</summary>
    public IReadOnlyList<SmtpTranscript> RecentTranscripts => _recentTranscripts.Snapshot();

    /// <summary>Forgets the stored messages (the count of accepted ones stays).</summary>
    public void ClearMessages() => _messages.Clear();

    /// <summary>Waits until at least <paramref name="count"/> messages have been accepted in total.</summary>
    public async Task WaitForAcceptedAsync(long count, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var arrived = Volatile.Read(ref _messageArrived).Task;
            if (Interlocked.Read(ref _acceptedCount) >= count) return;
            await arrived.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal AuthenticationThrottle Throttle { get; }

    private async Task AcceptLoopAsync(Socket listener, bool implicitTls)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException) { continue; } // a client that vanished while being accepted
            Interlocked.Increment(ref _sessionCount);
            var active = Interlocked.Increment(ref _activeSessions);
            var address = (client.RemoteEndPoint as IPEndPoint)?.Address.MapToIPv4() ?? IPAddress.None;
            var fromAddress = CountSession(address, +1);
            var refusal = active > Options.MaxSessions ? "too many sessions"
                : fromAddress > Options.MaxSessionsPerAddress ? $"too many sessions from {address}"
                : null;
            // The session gives its place back as soon as its dialogue is over (before its 221 goes out), not when its
            // task has wound down: a client that sends mail over and over on new connections is never counted twice.
            var released = 0;
            void Release()
            {
                if (Interlocked.Exchange(ref released, 1) != 0) return;
                Interlocked.Decrement(ref _activeSessions);
                CountSession(address, -1);
            }
            var session = new SmtpServerSession(this, client, implicitTls, refusal, Release);
            // A plain session runs on this thread until its first wait (sending the greeting, then reading): no hop to a
            // thread-pool worker that would have to be woken for it. A TLS handshake is real work, so it runs elsewhere.
            var task = implicitTls ? Task.Run(() => session.RunAsync(_stopping.Token)) : session.RunAsync(_stopping.Token);
            lock (_sessions) _sessions.Add(task);
            _ = task.ContinueWith(t =>
            {
                Release();
                lock (_sessions) _sessions.Remove(t);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Sessions open from <paramref name="address"/> after adding <paramref name="change"/>; the table only holds addresses with sessions.</summary>
    private int CountSession(IPAddress address, int change)
    {
        lock (_sessionsByAddress)
        {
            var count = _sessionsByAddress.GetValueOrDefault(address) + change;
            if (count > 0) _sessionsByAddress[address] = count;
            else _sessionsByAddress.Remove(address);
            return count;
        }
    }

    internal long NextMessageId() => Interlocked.Increment(ref _nextId);

    /// <summary>An accepted message will be read: kept in memory, written out as .eml, or logged.</summary>
    internal bool KeepsMessages => Options.MaxStoredMessages > 0 || Options.EmlDirectory is not null || IsLogging;

    /// <summary>Keeps an accepted message and logs it; the 250 reply is sent only after this returns (and the .eml is written).</summary>
    internal async Task StoreAsync(ReceivedMessage message, CancellationToken cancellationToken)
    {
        if (Options.EmlDirectory is not null)
            await File.WriteAllBytesAsync(Path.Combine(Options.EmlDirectory, $"{message.ReceivedAt:yyyyMMdd-HHmmss}-{message.Id:D6}.eml"), message.Stored(), cancellationToken).ConfigureAwait(false);
        _messages.Add(message);
        // Logged before the client gets its 250, so a watcher has seen every message a client was told was accepted.
        if (IsLogging) Record(MailServerLogEntry.Accepted(message));
        Counted();
    }

    /// <summary>Counts an accepted message (stored or not) and wakes whoever waits for it.</summary>
    internal void Counted()
    {
        Interlocked.Increment(ref _acceptedCount);
        Interlocked.Exchange(ref _messageArrived, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    internal void SessionRefused(IPEndPoint? client, string why)
    {
        Interlocked.Increment(ref _refusedCount);
        if (IsLogging) Record(new MailServerLogEntry(DateTimeOffset.Now, MailServerEvent.SessionRefused, client, why));
    }

    internal void AuthenticationFailed(IPEndPoint? client, string user)
    {
        Interlocked.Increment(ref _authFailures);
        if (client is not null) Throttle.Failed(client.Address.MapToIPv4());
        if (IsLogging) Record(new MailServerLogEntry(DateTimeOffset.Now, MailServerEvent.AuthenticationFailed, client, $"for user {Printable(user)}"));
    }

    /// <summary>A user name as a client sent it, safe for one console line: control characters shown as '?', at most 64 characters.</summary>
    private static string Printable(string text)
    {
        var shown = string.Concat(text.Take(64).Select(c => char.IsControl(c) ? '?' : c));
        return text.Length > 64 ? shown + "…" : shown;
    }

    internal bool AuthenticationLockedOut(IPEndPoint? client)
    {
        if (client is null || !Throttle.IsLockedOut(client.Address.MapToIPv4())) return false;
        Interlocked.Increment(ref _authLockouts);
        if (IsLogging) Record(new MailServerLogEntry(DateTimeOffset.Now, MailServerEvent.AuthenticationLockedOut, client,
            $"after {Options.MaxAuthenticationFailures} failures within {Options.AuthenticationFailureWindow.TotalSeconds:0.#} s"));
        return true;
    }

    internal void SessionEnded(SmtpTranscript? transcript)
    {
        if (transcript is not null) _recentTranscripts.Add(transcript);
    }

    /// <summary>
    /// Stops accepting, tells running sessions to end (they answer 421 "shutting down"), and waits for them at most
    /// <paramref name="drain"/>.
    /// </summary>
    protected override async Task StopCoreAsync(TimeSpan drain)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        _tlsListener?.Dispose();
        Task[] running;
        lock (_sessions) running = [.. _sessions, .. _acceptLoops];
        try { await Task.WhenAll(running).WaitAsync(drain).ConfigureAwait(false); }
        catch (TimeoutException) { }
    }

    /// <summary>Stops (with the default drain), then frees the certificate.</summary>
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        Certificate?.Dispose();
    }

    public override string ToHtml() => Summary().ToHtml();
    public override string ToString() => Summary().ToString();

    private HtmlTable Summary()
    {
        var counters = Counters;
        return new("Local mail server", ["what", "value"],
        [
            ["SMTP (plain, STARTTLS)", $"{Host}:{Port}"],
            ["implicit TLS", ImplicitTlsPort is { } p ? $"{Host}:{p}" : "off"],
            ["certificate SHA-256", CertificateSha256 ?? "none"],
            ["domains", string.Join(", ", Options.Domains)],
            ["authentication", Options.Accounts.Count == 0 ? "none" : $"{Options.Accounts.Count} account(s){(Options.RequireAuthentication ? ", required" : "")}{(Options.AllowAuthenticationWithoutTls ? ", also without TLS" : ", over TLS only")}"],
            ["state", State.ToString()],
            ["sessions / active / refused", $"{counters.Sessions} / {counters.ActiveSessions} / {counters.SessionsRefused}"],
            ["messages accepted", counters.MessagesAccepted.ToString()],
            ["failed / locked-out logins", $"{counters.AuthenticationFailures} / {counters.AuthenticationsLockedOut}"],
        ]);
    }
}

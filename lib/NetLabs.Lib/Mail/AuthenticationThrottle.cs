using System.Net;

namespace NetLabs.Mail;

/// <summary>
/// Failed logins per client address, the way real mail servers slow down password guessing: after
/// <c>maxFailures</c> failures within <c>window</c>, an address is locked out until its failures are older than the
/// window, and then every AUTH it sends is refused without the password being looked at (so even the right password
/// does not tell a guesser it was right). The table is bounded: when it is full, expired addresses are dropped, then
/// the one that failed longest ago. Thread-safe; time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed class AuthenticationThrottle(int maxFailures, TimeSpan window, int maxAddresses, TimeProvider time)
{
    private sealed class Failures
    {
        public int Count;
        public long FirstAt, LastAt;
    }

    private readonly Dictionary<IPAddress, Failures> _byAddress = [];

    /// <summary>True when <paramref name="address"/> may not try to authenticate now.</summary>
    public bool IsLockedOut(IPAddress address)
    {
        lock (_byAddress)
        {
            if (!_byAddress.TryGetValue(address, out var failures)) return false;
            if (Expired(failures, time.GetTimestamp())) { _byAddress.Remove(address); return false; }
            return failures.Count >= maxFailures;
        }
    }

    /// <summary>Counts a failed login from <paramref name="address"/>.</summary>
    public void Failed(IPAddress address)
    {
        lock (_byAddress)
        {
            var now = time.GetTimestamp();
            if (!_byAddress.TryGetValue(address, out var failures) || Expired(failures, now))
            {
                if (failures is null && _byAddress.Count >= maxAddresses) MakeRoom(now);
                _byAddress[address] = failures = new Failures { FirstAt = now };
            }
            failures.Count++;
            failures.LastAt = now;
        }
    }

    /// <summary>Addresses with failures on record (at most the table's size).</summary>
    public int TrackedAddresses { get { lock (_byAddress) return _byAddress.Count; } }

    // The window counts from the first failure, so a locked-out guesser cannot keep the lock (and its own count) alive
    // forever by failing again, and a user who mistyped a few times is not punished for longer than the window.
    private bool Expired(Failures failures, long now) => time.GetElapsedTime(failures.FirstAt, now) >= window;

    private void MakeRoom(long now)
    {
        foreach (var (address, failures) in _byAddress)
            if (Expired(failures, now)) _byAddress.Remove(address);
        if (_byAddress.Count < maxAddresses) return;
        var oldest = _byAddress.MinBy(pair => pair.Value.LastAt).Key;
        _byAddress.Remove(oldest);
    }
}

using NetLabs.Hosting;

namespace NetLabs.Icmp;

/// <summary>An ICMP probe could not be sent (no permission for any path, no route, not IPv4); the message says what to do.</summary>
public class IcmpException(string message, Exception? inner = null) : NetLabsException(message, inner);

/// <summary>The sending path asked for is not available here; the message says what it needs and how to enable it.</summary>
public sealed class IcmpPathUnavailableException(IcmpSendPath path, string message, Exception? inner = null) : IcmpException(message, inner)
{
    public IcmpSendPath Path { get; } = path;
}

using System.Net;
using System.Net.Sockets;
using NetLabs.Hosting;

namespace NetLabs.Proxy;

/// <summary>
/// The origin could not be used: its name does not resolve or it refused the connection (502 Bad Gateway), or it did
/// not answer in time (504 Gateway Timeout). The message is the sentence the error page shows.
/// </summary>
public sealed class OriginException(int status, string message, Exception? inner = null) : NetLabsException(message, inner)
{
    /// <summary>The status the proxy answers with: 502 or 504.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// Opens a TCP connection to an origin server, one per request (no pooling: every request to the origin is a fresh
/// connection closed after the answer — simple, and what the textbook's proxy does). Each address of the name is
/// tried in turn, all within one timeout.
/// </summary>
public static class OriginConnector
{
    /// <exception cref="OriginException">The name does not resolve, every address refused, or the timeout passed.</exception>
    public static async Task<Socket> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, deadline.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new OriginException(502, $"The name {host} does not resolve ({e.SocketErrorCode}): check the spelling of the address.", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OriginException(504, $"Looking up the name {host} took more than {timeout.TotalSeconds:0.#} s.", e);
        }
        if (addresses.Length == 0) throw new OriginException(502, $"The name {host} has no address.");

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), deadline.Token).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new OriginException(504, $"{host}:{port} did not accept a connection within {timeout.TotalSeconds:0.#} s.", e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!.SocketErrorCode == SocketError.ConnectionRefused
            ? new OriginException(502, $"{host}:{port} refused the connection: no server listens on that port.", last)
            : new OriginException(502, $"Cannot connect to {host}:{port}: {last.Message}.", last);
    }
}

using System.Net;
using System.Net.Sockets;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy;

/// <summary>Live migration of established connections to and from another process (`--handoff-connections`).</summary>
public sealed partial class ProxyServer
{
    /// <summary>Asks every copying connection to stop at its quiet point, for a live migration.</summary>
    internal List<PairMigration> QuiesceConnections() => _connections.RequestQuiesce();

    /// <summary>
    /// Takes over a pair another process stopped at its quiet point, and copies from there. It counts
    /// against its upstream at once (least-connections sees it); an upstream this configuration no
    /// longer lists gets an object of its own, as an open connection keeps its upstream across a reload.
    /// </summary>
    internal void Adopt(Socket client, Socket upstreamSocket, string upstreamAddress, bool clientEnded, bool upstreamEnded, TimeSpan age)
    {
        var upstream = Array.Find(_cluster.Set.Items, u => string.Equals(u.Address, upstreamAddress, StringComparison.OrdinalIgnoreCase))
            ?? new Upstream(upstreamAddress, PeerOf(upstreamSocket), 1, _time);
        upstream.OnConnecting();
        Interlocked.Increment(ref _open);
        var connection = Rent(Options, Interlocked.Increment(ref _nextLoop));
        _connections.Add(connection, _time.GetTimestamp());
        connection.StartAdopted(client, upstreamSocket, upstream, clientEnded, upstreamEnded, age);
    }

    /// <summary>The upstream's address for display (never connected to); a socket reset meanwhile has none.</summary>
    private static IPEndPoint PeerOf(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.Any, 0);
        }
        catch (SocketException)
        {
            return new IPEndPoint(IPAddress.Any, 0);
        }
    }
}

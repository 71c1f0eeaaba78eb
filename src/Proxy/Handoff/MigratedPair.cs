using System.Net;
using System.Net.Sockets;

namespace DataPlane.Proxy.Handoff;

/// <summary>
/// An established connection received from the process that stopped it at its quiet point: the
/// listener it belongs to (configured address), its upstream, which directions already ended, its
/// age, and the two adopted sockets (no operation pending on them yet).
/// </summary>
internal sealed record MigratedPair(IPEndPoint Listen, string Upstream, bool ClientEnded, bool UpstreamEnded, TimeSpan Age, Socket Client, Socket UpstreamSocket)
{
    /// <summary>Closes this process's copies (nothing pending: a plain close; the other process's copies stay intact).</summary>
    public void Close()
    {
        Client.Dispose();
        UpstreamSocket.Dispose();
    }
}

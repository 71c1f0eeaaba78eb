using System.Net;
using System.Net.Sockets;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Ports for nodes that must come back on the same address after a restart (their peers know it):
/// the kernel picks a free ephemeral port, which is released for the node to bind.
/// </summary>
internal static class Ports
{
    public static IPEndPoint Free()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }
}

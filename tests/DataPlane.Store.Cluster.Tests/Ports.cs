using System.Net;
using System.Net.Sockets;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Ports for nodes that must come back on the same address after a restart (their peers know it):
/// the kernel picks a free ephemeral port, which is released for the node to bind. A port is never
/// handed out twice in this process, and every listener of these tests takes its port from here, so
/// a released port cannot be picked again by another test's listener meanwhile.
/// </summary>
internal static class Ports
{
    private static readonly HashSet<int> Given = [];

    public static IPEndPoint Free()
    {
        while (true)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var endPoint = (IPEndPoint)socket.LocalEndPoint!;
            lock (Given)
            {
                if (Given.Add(endPoint.Port))
                {
                    return endPoint;
                }
            }
        }
    }
}

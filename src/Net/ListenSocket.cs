using System.Net;
using System.Net.Sockets;

namespace DataPlane.Net;

/// <summary>Creates listening sockets: bound here, or adopted from a descriptor another process handed over.</summary>
internal static class ListenSocket
{
    /// <summary>The backlog a listener asks for (the kernel caps it at net.core.somaxconn).</summary>
    public const int Backlog = 4096;

    /// <summary>Binds and listens on <paramref name="endPoint"/> (port 0 picks a free port; read it back from LocalEndPoint).</summary>
    public static Socket Bind(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            AllowRebind(socket);
            socket.Bind(endPoint);
            socket.Listen(Backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Wraps a listening descriptor inherited from another process (SCM_RIGHTS or exec). The socket owns
    /// the descriptor from here on; it must already be listening.
    /// </summary>
    public static Socket Adopt(nint descriptor) => new(new SafeSocketHandle(descriptor, ownsHandle: true));

    /// <summary>
    /// Lets a restarted server rebind its port while old connections sit in TIME_WAIT, and nothing more:
    /// on Linux .NET's <see cref="SocketOptionName.ReuseAddress"/> also sets SO_REUSEPORT, which lets a
    /// second process bind the same port and silently take half of its connections. So SO_REUSEADDR
    /// (SOL_SOCKET = 1, SO_REUSEADDR = 2) is set alone there.
    /// </summary>
    public static void AllowRebind(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
    }
}

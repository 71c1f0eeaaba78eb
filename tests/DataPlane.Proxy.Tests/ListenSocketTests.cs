using System.Net;
using System.Net.Sockets;
using DataPlane.Net;

namespace DataPlane.Proxy.Tests;

public class ListenSocketTests
{
    [Fact]
    public void Bind_PortAlreadyListening_FailsInsteadOfSharingIt()
    {
        // .NET's ReuseAddress would also set SO_REUSEPORT on Linux and let the second bind succeed,
        // handing it half of the first listener's connections.
        using var first = ListenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)first.LocalEndPoint!).Port;

        var error = Assert.Throws<SocketException>(() => ListenSocket.Bind(new IPEndPoint(IPAddress.Loopback, port)));

        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }
}

using System.Net;
using DataPlane.Proxy.Forwarding;

namespace DataPlane.Proxy.Tests;

public class ConnectionListTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(25, 24, 0)]
    [InlineData(25, 25, 0)]
    [InlineData(24, 25, 0)]
    [InlineData(25, 23, 1)]
    [InlineData(29, 21, 1)]
    [InlineData(21, 29, 0)]
    public async Task LeastBusy_StaysOnTheAcceptingLoopUnlessAnotherHasTwoFewer(int onAccepting, int onOther, int expected)
    {
        await using var host = new ProxyServer(Options);
        var list = new ConnectionList(2);
        var connections = new List<ProxyConnection>();
        for (var i = 0; i < onAccepting + onOther; i++)
        {
            var connection = new ProxyConnection(host, Options, i < onAccepting ? 0 : 1);
            connections.Add(connection);
            list.Add(connection, 0);
        }

        Assert.Equal(expected, list.LeastBusy(0));
        Assert.Equal(onAccepting < onOther - 1 ? 0 : 1, list.LeastBusy(1));

        foreach (var connection in connections)
        {
            list.Remove(connection);
            connection.Dispose();
        }
    }

    [Fact]
    public async Task LeastBusy_BurstOfConnectionsAcceptedByOneLoop_EndsWithinOneOfEven()
    {
        await using var host = new ProxyServer(Options);
        var list = new ConnectionList(2);
        var connections = new List<ProxyConnection>();
        for (var i = 0; i < 50; i++)
        {
            var connection = new ProxyConnection(host, Options, list.LeastBusy(0));
            connections.Add(connection);
            list.Add(connection, 0);
        }

        var onFirst = connections.Count(c => c.LoopIndex == 0);
        Assert.InRange(onFirst, 25, 26);

        foreach (var connection in connections)
        {
            list.Remove(connection);
            connection.Dispose();
        }
    }

    private static ProxyOptions Options { get; } = new()
    {
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        Upstreams = [new UpstreamOptions("127.0.0.1:1")],
        Transport = ProxyTransport.Sockets,
    };
}

using System.Globalization;
using System.Net.Sockets;
using System.Text;
using DataPlane.Store.Tests;
using DataPlane.Testing;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// A cluster node's clients on either transport (its epoll loops on Linux, the runtime's sockets
/// everywhere): replies of quorum operations, which are decided on other threads in any order, and
/// of commands the node answers itself go out in command order; a client that vanishes with
/// operations in flight costs only its connection.
/// </summary>
public sealed class ClientTransportTests
{
    public static TheoryData<StoreTransport> Transports()
    {
        var transports = new TheoryData<StoreTransport> { StoreTransport.Sockets };
        if (OperatingSystem.IsLinux())
        {
            transports.Add(StoreTransport.Epoll);
        }

        return transports;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Pipeline_OfQuorumAndLocalCommands_InOneWrite_IsAnsweredInOrder(StoreTransport transport)
    {
        await using var cluster = await TestCluster.StartAsync(transport: transport);
        using var client = new RawClient(cluster.ClientAddress("a"));
        const int Groups = 3000;
        var batch = new StringBuilder();
        for (var i = 0; i < Groups; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            batch.Append(RawClient.Encode("SET", "key:" + n, "value:" + n)).Append(RawClient.Encode("GET", "key:" + n));
            if (i % 50 == 0)
            {
                // Answered by the node itself (must wait for the replies before it), by a task (MGET), and by the key's first replica (INCR).
                batch.Append(RawClient.Encode("PING")).Append(RawClient.Encode("ECHO", "e" + n))
                    .Append(RawClient.Encode("MGET", "key:" + n, "missing")).Append(RawClient.Encode("INCR", "counter:" + n));
            }
        }

        client.Send(batch.ToString());
        for (var i = 0; i < Groups; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            var value = "value:" + n;
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal($"${value.Length}\r\n{value}\r\n", await client.ReadReplyAsync());
            if (i % 50 == 0)
            {
                var echo = "e" + n;
                Assert.Equal("+PONG\r\n", await client.ReadReplyAsync());
                Assert.Equal($"${echo.Length}\r\n{echo}\r\n", await client.ReadReplyAsync());
                Assert.Equal($"*2\r\n${value.Length}\r\n{value}\r\n$-1\r\n", await client.ReadReplyAsync());
                Assert.Equal(":1\r\n", await client.ReadReplyAsync());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Client_ResettingWithOperationsInFlight_CostsOnlyItsConnection(StoreTransport transport)
    {
        await using var cluster = await TestCluster.StartAsync(transport: transport);
        using var client = new RawClient(cluster.ClientAddress("a"));
        client.Command("SET", "kept", "yes");
        Assert.Equal("+OK\r\n", await client.ReadReplyAsync());

        using (var vanishing = new RawClient(cluster.ClientAddress("a")))
        {
            var batch = new StringBuilder();
            for (var i = 0; i < 5000; i++)
            {
                var n = i.ToString(CultureInfo.InvariantCulture);
                batch.Append(RawClient.Encode("SET", "gone:" + n, n)).Append(RawClient.Encode("GET", "gone:" + n));
            }

            vanishing.Send(batch.ToString());

            // The first replies are out, the rest in flight: the client resets now.
            vanishing.Socket.ReceiveTimeout = 30_000;
            Assert.Equal(1, vanishing.Socket.Receive(new byte[1], SocketFlags.Peek));
            vanishing.Socket.LingerState = new LingerOption(true, 0);
        }

        await Eventually.True(
            () =>
            {
                client.Command("INFO", "clients");
                return client.ReadReplyAsync().GetAwaiter().GetResult().Contains("connected_clients:1\r\n", StringComparison.Ordinal);
            },
            "the vanished client's connection to close");
        client.Command("GET", "kept");
        Assert.Equal("$3\r\nyes\r\n", await client.ReadReplyAsync());
        using var another = new RawClient(cluster.ClientAddress("a"));
        another.Command("SET", "after", "1");
        Assert.Equal("+OK\r\n", await another.ReadReplyAsync());
    }
}

using System.Globalization;
using System.Net.Sockets;
using System.Text;
using DataPlane.Testing;

namespace DataPlane.Store.Tests;

/// <summary>
/// The two ways a single node serves its clients (its own epoll loops on Linux, the runtime's
/// sockets everywhere) behave alike: pipelines answered in order, replies larger than the socket's
/// buffers, clients that vanish while the server writes to them, requests refused before they are
/// buffered, fsync=always acknowledgements, and a stop that closes every client.
/// </summary>
public sealed class TransportTests
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
    public async Task Pipeline_OfTwentyThousandCommands_InOneWrite_IsAnsweredInOrder(StoreTransport transport)
    {
        await using var store = await TestStore.StartAsync(o => o.Transport = transport);
        using var client = new RawClient(store.EndPoint);
        var batch = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            batch.Append(RawClient.Encode("SET", "key:" + n, "value:" + n)).Append(RawClient.Encode("GET", "key:" + n));
        }

        client.Send(batch.ToString());
        for (var i = 0; i < 10_000; i++)
        {
            var value = "value:" + i.ToString(CultureInfo.InvariantCulture);
            Assert.Equal("+OK\r\n", await client.ReadReplyAsync());
            Assert.Equal($"${value.Length}\r\n{value}\r\n", await client.ReadReplyAsync());
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task LargeValues_PipelinedUnread_AreSentWholeOnceTheClientReads(StoreTransport transport)
    {
        // Eight 4 MiB replies overflow loopback's socket buffers: the server must wait for room.
        await using var store = await TestStore.StartAsync(o => o.Transport = transport);
        var value = new byte[4 * 1024 * 1024];
        new Random(7).NextBytes(value);
        using (var writer = new RawClient(store.EndPoint))
        {
            writer.Send(Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + value.Length.ToString(CultureInfo.InvariantCulture) + "\r\n"));
            writer.Send(value);
            writer.Send("\r\n"u8);
            Assert.Equal("+OK\r\n", await writer.ReadReplyAsync());
        }

        using var reader = new RawClient(store.EndPoint);
        const int Gets = 8;
        var get = RawClient.Encode("GET", "big");
        reader.Send(string.Concat(Enumerable.Repeat(get, Gets)));
        var header = Encoding.ASCII.GetBytes("$" + value.Length.ToString(CultureInfo.InvariantCulture) + "\r\n");
        var received = await ReceiveExactlyAsync(reader.Socket, Gets * (header.Length + value.Length + 2));
        for (var i = 0; i < Gets; i++)
        {
            var reply = received.AsSpan(i * (header.Length + value.Length + 2));
            Assert.True(reply[..header.Length].SequenceEqual(header));
            Assert.True(reply.Slice(header.Length, value.Length).SequenceEqual(value));
            Assert.True(reply.Slice(header.Length + value.Length, 2).SequenceEqual("\r\n"u8));
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ClientVanishing_WhileTheServerWritesToIt_CostsOnlyItsConnection(StoreTransport transport)
    {
        await using var store = await TestStore.StartAsync(o => o.Transport = transport);
        using var client = new RawClient(store.EndPoint);
        client.Send(Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$4194304\r\n"));
        client.Send(new byte[4 * 1024 * 1024]);
        client.Send("\r\n"u8);
        Assert.Equal("+OK\r\n", await client.ReadReplyAsync());

        using (var vanishing = new RawClient(store.EndPoint))
        {
            vanishing.Send(string.Concat(Enumerable.Repeat(RawClient.Encode("GET", "big"), 16)));
            // The first reply is on its way: the server is writing when the client resets.
            vanishing.Socket.ReceiveTimeout = 30_000;
            Assert.Equal(1, vanishing.Socket.Receive(new byte[1], SocketFlags.Peek));
            vanishing.Socket.LingerState = new LingerOption(true, 0);
        }

        var connected = -1;
        await Eventually.True(
            () =>
            {
                client.Command("INFO", "clients");
                connected = ConnectedClients(client.ReadReplyAsync().GetAwaiter().GetResult());
                return connected == 1;
            },
            "the vanished client's connection to close");
        client.Command("STRLEN", "big");
        Assert.Equal(":4194304\r\n", await client.ReadReplyAsync());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task OversizedBulk_IsRefusedBeforeItArrives_AndOthersCarryOn(StoreTransport transport)
    {
        await using var store = await TestStore.StartAsync(o =>
        {
            o.Transport = transport;
            o.MaxBulkLength = 64 * 1024;
        });
        using var other = new RawClient(store.EndPoint);
        using var client = new RawClient(store.EndPoint);
        client.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$65537\r\n");
        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n", await client.ReadReplyAsync());
        Assert.True(await client.IsClosedByServerAsync());

        other.Command("SET", "k", new string('v', 64 * 1024));
        Assert.Equal("+OK\r\n", await other.ReadReplyAsync());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task FsyncAlways_PipelinedWrites_AreEachAcknowledged(StoreTransport transport)
    {
        await using var store = await TestStore.StartAsync(o =>
        {
            o.Transport = transport;
            o.Fsync = FsyncMode.Always;
        });
        using var client = new RawClient(store.EndPoint);
        for (var round = 0; round < 3; round++)
        {
            var batch = new StringBuilder();
            for (var i = 0; i < 500; i++)
            {
                batch.Append(RawClient.Encode("INCR", "counter"));
            }

            client.Send(batch.ToString());
            for (var i = 0; i < 500; i++)
            {
                Assert.Equal($":{(round * 500) + i + 1}\r\n", await client.ReadReplyAsync());
            }
        }
    }

    [Fact]
    public async Task SeveralEventLoops_ServeClientsOfOneStore_WithEveryWriteCounted()
    {
        // Six clients spread over three loops (on Linux; elsewhere the sockets serve them) all
        // increment one key: each loop writes its round to the one log and executes against one store.
        await using var store = await TestStore.StartAsync(o => o.EventLoops = 3);
        var clients = Enumerable.Range(0, 6).Select(_ => new RawClient(store.EndPoint)).ToList();
        try
        {
            var batch = string.Concat(Enumerable.Repeat(RawClient.Encode("INCR", "shared"), 1000));
            foreach (var client in clients)
            {
                client.Send(batch);
            }

            foreach (var client in clients)
            {
                for (var i = 0; i < 1000; i++)
                {
                    Assert.StartsWith(":", await client.ReadReplyAsync(), StringComparison.Ordinal);
                }
            }

            clients[0].Command("GET", "shared");
            Assert.Equal("$4\r\n6000\r\n", await clients[0].ReadReplyAsync());
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Stopping_ClosesConnectedClients(StoreTransport transport)
    {
        var store = await TestStore.StartAsync(o => o.Transport = transport);
        using var client = new RawClient(store.EndPoint);
        client.Command("PING");
        Assert.Equal("+PONG\r\n", await client.ReadReplyAsync());
        await store.DisposeAsync();
        Assert.True(await client.IsClosedByServerAsync());
    }

    private static int ConnectedClients(string info)
    {
        const string Field = "connected_clients:";
        var start = info.IndexOf(Field, StringComparison.Ordinal) + Field.Length;
        return int.Parse(info.AsSpan(start, info.IndexOf('\r', start) - start), CultureInfo.InvariantCulture);
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int length)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            filled += n;
        }

        return buffer;
    }
}

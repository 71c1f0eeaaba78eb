using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>An epoll pair with more to move than one turn allows lets its loop go round, and loses nothing.</summary>
public sealed class EpollTurnTests
{
    private const int BufferSize = 16 * 1024;

    [Fact]
    public async Task Forward_MoreQueuedThanOneTurnReceives_UsesUpTurnsAndDeliversEveryByteInOrder()
    {
        // Queued at the pair's end before the forward starts, so its first turn finds a full buffer for every receive.
        var size = (EpollPair.TurnReceives + 2) * BufferSize;
        var data = new byte[size];
        new Random(9).NextBytes(data);

        using var clients = Listen();
        using var upstreams = Listen();
        using var client = await Loopback.ConnectAsync((IPEndPoint)clients.LocalEndPoint!);
        using var accepted = await clients.AcceptAsync();
        await Loopback.SendAllAsync(client, data);
        await Eventually.True(() => accepted.Available == size, "every byte queued at the pair's end", Loopback.Timeout);

        var pair = EpollTransport.Shared.CreatePair(BufferSize, 0);
        var upstreamFd = EpollNative.OpenTcp(EpollNative.AfInet);
        Assert.True(upstreamFd >= 0, $"socket() failed: {-upstreamFd}");
        Task<PairResult>? forward = null;
        try
        {
            pair.Begin();
            var connected = pair.ConnectAsync(upstreamFd, upstreams.LocalEndPoint!.Serialize(), Loopback.Timeout).AsTask();
            using var upstream = await upstreams.AcceptAsync();
            Assert.Equal(SocketError.Success, await connected.WaitAsync(Loopback.Timeout));

            forward = pair.ForwardAsync((int)accepted.Handle, NoObserver.Instance, NoObserver.Instance).AsTask();
            Assert.Equal(data, await Loopback.ReadExactlyAsync(upstream, size).WaitAsync(Loopback.Timeout));
            Assert.True(Volatile.Read(ref pair.TurnsUsedUp) >= 1, "no turn was used up");

            client.Shutdown(SocketShutdown.Send);
            upstream.Shutdown(SocketShutdown.Send);
            Assert.Equal(PairResult.Completed, await forward.WaitAsync(Loopback.Timeout));
        }
        finally
        {
            // A failed assertion leaves the pair running: it lets go of the descriptors before they are closed.
            pair.Abort();
            if (forward is not null)
            {
                await forward.WaitAsync(Loopback.Timeout);
            }

            EpollNative.Close(upstreamFd);
            EpollTransport.Shared.Return(pair);
        }
    }

    private static Socket Listen()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            // Inherited by the accepted socket: room for the whole transfer before the pair reads any of it.
            ReceiveBufferSize = 1024 * 1024,
        };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen();
        return socket;
    }

    private sealed class NoObserver : ITransferObserver
    {
        public static readonly NoObserver Instance = new();

        public void OnTransferred(int bytes)
        {
            // Nothing to count here.
        }
    }
}

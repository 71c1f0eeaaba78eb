using System.Net;
using System.Net.Sockets;
using DataPlane.Net;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

/// <summary>An epoll listener taking over a listening socket whose backlog is already full of clients.</summary>
public sealed class EpollListenerTests
{
    // Starts in a row: the loop that gets the registration's edge runs at once, while the starting thread
    // still registers with the other loops; one start in a few dozen lost that edge before the fix.
    private const int Rounds = 100;
    private const int Queued = 8;

    [Fact]
    public async Task Start_ClientsAlreadyQueued_AcceptsEveryOneWithoutAnotherClient()
    {
        using var socket = ListenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)socket.LocalEndPoint!;
        var handler = new Counting();
        for (var round = 0; round < Rounds; round++)
        {
            // Connected by the kernel and waiting in the backlog, as a new process finds them at a handoff;
            // no further client comes to give an edge.
            var clients = new List<Socket>();
            try
            {
                for (var i = 0; i < Queued; i++)
                {
                    clients.Add(await Loopback.ConnectAsync(endPoint));
                }

                var expected = handler.Accepted + Queued;
                var listener = EpollTransport.Shared.Listen((int)socket.Handle, handler);
                listener.Start();
                try
                {
                    await Eventually.True(() => handler.Accepted >= expected, $"round {round}: the {Queued} queued clients accepted", Loopback.Timeout);
                }
                finally
                {
                    await listener.StopAsync();
                    listener.Dispose();
                }
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }
        }
    }

    private sealed class Counting : IEpollAcceptHandler
    {
        private int _accepted;

        public int Accepted => Volatile.Read(ref _accepted);

        public void OnAccepted(int fd, ReadOnlySpan<byte> peer, int loop)
        {
            EpollNative.Close(fd);
            Interlocked.Increment(ref _accepted);
        }

        public void OnAcceptError(int errno)
        {
        }

        public void OnAcceptFailed(Exception error)
        {
        }
    }
}

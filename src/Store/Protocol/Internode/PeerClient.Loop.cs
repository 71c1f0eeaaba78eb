using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

internal sealed partial class PeerClient
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// As <see cref="ConnectAndServeAsync"/>, with the replies received by <paramref name="loop"/>. The
    /// connect and the handshake are blocking calls on a thread of their own: an asynchronous one
    /// registers the socket with the runtime's epoll, whose thread would then wake for every reply
    /// the loop receives. The loops send the requests themselves (see <see cref="FrameOutbox"/>); the
    /// runtime's sends, which join that epoll, take only what the kernel refuses at once.
    /// </summary>
    private async Task<bool> ConnectAndServeOnLoopAsync(IPeerLoop loop, CancellationToken cancellationToken)
    {
        var socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var adopted = false;
        try
        {
            var connecting = Task.Factory.StartNew(() => ConnectBlocking(socket, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!await connecting.ConfigureAwait(false))
            {
                return false;
            }

            var receiver = new PeerReceiver(this, socket);
            if (!loop.TryAdopt(receiver))
            {
                // The loop has ended (the node is stopping): as if the peer were out of reach.
                receiver.Close();
                return false;
            }

            adopted = true;
            var outbox = new FrameOutbox(socket, () => loop.Drop(receiver));
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var connection = new Connection(socket, outbox, ending.Token, loop, receiver);
            using var stop = cancellationToken.UnsafeRegister(static c => ((Connection)c!).Drop(), connection);
            Volatile.Write(ref _connection, connection);
            LogConnected(_logger, Name, EndPoint);
            StateChanged?.Invoke(this, true);
            var sending = outbox.RunAsync(ending.Token);
            try
            {
                await receiver.Ended.ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _connection, null);
                await ending.CancelAsync().ConfigureAwait(false);
                await sending.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
                FailPending();
                StateChanged?.Invoke(this, false);
            }

            return true;
        }
        finally
        {
            if (!adopted)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Connects and shakes hands with blocking calls, each bounded: disposing the socket ends a blocking call, and a watchdog does so at the timeout or on stopping.</summary>
    /// <returns>False when the peer closed the connection during the handshake.</returns>
    private bool ConnectBlocking(Socket socket, CancellationToken cancellationToken)
    {
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        watchdog.CancelAfter(ConnectTimeout);
        string? name;
        using (watchdog.Token.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
        {
            socket.Connect(EndPoint);
            watchdog.CancelAfter(Handshake.Timeout);
            socket.Send(Handshake.Build(_localName, _clusterName));
            name = Handshake.ReceiveBlocking(socket, _clusterName);
        }

        if (watchdog.IsCancellationRequested)
        {
            throw new TimeoutException($"peer '{Name}' at {EndPoint} did not complete the handshake in time");
        }

        if (name is not null && name != Name)
        {
            throw new InvalidDataException($"expected peer '{Name}' at {EndPoint}, found '{name}'");
        }

        return name is not null;
    }
}

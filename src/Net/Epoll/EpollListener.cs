using System.Runtime.InteropServices;

namespace DataPlane.Net.Epoll;

/// <summary>
/// A listening socket accepted on by the epoll loops themselves: registered edge-triggered with every
/// loop (EPOLLEXCLUSIVE, so an edge wakes one), and on an edge the loop calls accept4 with
/// SOCK_NONBLOCK | SOCK_CLOEXEC until EAGAIN, as HAProxy does. No runtime Socket, no thread-pool hop
/// and no second accept of the runtime's per connection: the loop that accepted a client connects its
/// upstream and copies it. The descriptor is the owner's and stays open and intact when stopped, so it
/// can be handed to another process (shared/HANDOFF.md) or accepted on again.
/// </summary>
internal sealed class EpollListener : IAcceptor
{
    // sizeof(struct sockaddr_storage).
    private const int AddressCapacity = 128;
    private readonly EpollTransport _transport;
    private readonly int _fd;
    private readonly IEpollAcceptHandler _handler;
    private readonly int _id;
    private readonly Lock _gate = new();
    private volatile bool _running;
    private int _accepting;

    internal EpollListener(EpollTransport transport, int fd, IEpollAcceptHandler handler, int id)
    {
        _transport = transport;
        _fd = fd;
        _handler = handler;
        _id = id;
    }

    /// <summary>Whether it was started and not stopped.</summary>
    public bool IsRunning => _running;

    /// <summary>Starts accepting: the listener joins every loop (a backlog that filled meanwhile gives an edge at once).</summary>
    /// <exception cref="IOException">The descriptor cannot be made non-blocking or registered.</exception>
    public void Start()
    {
        lock (_gate)
        {
            if (_running)
            {
                return;
            }

            // O_NONBLOCK: an accept4 on an empty queue must say EAGAIN, not block the loop.
            var errno = EpollNative.SetNonBlocking(_fd);
            var joined = 0;
            for (; errno == 0 && joined < _transport.Loops.Length; joined++)
            {
                if (EpollNative.AddListener(_transport.Loops[joined].Epoll, _fd, EpollTransport.ListenerTag(_id)) != 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    break;
                }
            }

            if (errno != 0)
            {
                for (var i = 0; i < joined; i++)
                {
                    EpollNative.Remove(_transport.Loops[i].Epoll, _fd);
                }

                throw new IOException($"listening socket cannot join the epoll loops: errno {errno}");
            }

            _running = true;
        }
    }

    /// <summary>
    /// Stops accepting and waits until no loop is inside an accept; the descriptor is left open and
    /// listening (clients that arrive meanwhile wait in the kernel's backlog).
    /// </summary>
    public async Task StopAsync()
    {
        lock (_gate)
        {
            if (!_running)
            {
                return;
            }

            _running = false;

            // Paired with the increment before OnReady reads the flag: either it sees the flag down, or
            // this sees it inside.
            Interlocked.MemoryBarrier();
            foreach (var loop in _transport.Loops)
            {
                EpollNative.Remove(loop.Epoll, _fd);
            }
        }

        // A loop that read the flag before it fell finishes its batch; none starts another one.
        while (Volatile.Read(ref _accepting) != 0)
        {
            await Task.Yield();
        }
    }

    /// <summary>Releases the transport's slot (after <see cref="StopAsync"/>); the descriptor stays its owner's.</summary>
    public void Dispose() => _transport.Release(_id, this);

    /// <summary>An edge: accepts until the queue is empty (on a loop thread).</summary>
    internal unsafe void OnReady(EpollLoop loop)
    {
        Interlocked.Increment(ref _accepting);
        try
        {
            var address = stackalloc byte[AddressCapacity];
            while (_running)
            {
                var length = AddressCapacity;
                var fd = EpollNative.Accept(_fd, address, &length, EpollNative.SockNonblock | EpollNative.SockCloexec);
                if (fd >= 0)
                {
                    _handler.OnAccepted(fd, new ReadOnlySpan<byte>(address, Math.Min(length, AddressCapacity)), loop.Index);
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eagain)
                {
                    return;
                }

                if (errno is EpollNative.Eintr or EpollNative.Econnaborted)
                {
                    // Interrupted, or a client that left between its SYN and the accept: go on.
                    continue;
                }

                // Out of descriptors or memory: the connection stays queued, and the next client's edge
                // tries again (the runtime's accept loop also reports and goes on).
                _handler.OnAcceptError(errno);
                return;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _accepting);
        }
    }
}

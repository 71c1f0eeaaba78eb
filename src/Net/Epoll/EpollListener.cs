using System.Diagnostics;
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

    // How long accepting pauses when out of descriptors or memory (HAProxy's listener.c waits 100 ms).
    private const int RetryMilliseconds = 100;
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

    /// <summary>
    /// Starts accepting: the listener joins every loop. Clients already in the backlog (queued while
    /// nobody accepted, as at a handoff) are accepted at once: EPOLL_CTL_ADD polls the socket and
    /// queues an event when it is readable, the one edge they will ever give.
    /// </summary>
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
            DescriptorReserve.TryRestore();

            // Up before the first registration: the loop that gets the registration's event runs OnReady
            // while this thread still joins the other loops. With the flag still down it returned without
            // accepting, the edge spent, and clients that were queued and send nothing more waited for
            // good (one start in a few dozen; the handoff tests' 30 s stalls).
            _running = errno == 0;
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
                Leave(joined);

                // Clients a loop accepted meanwhile are its handler's and served; none is accepted after the throw.
                var wait = default(SpinWait);
                while (Volatile.Read(ref _accepting) != 0)
                {
                    wait.SpinOnce();
                }

                throw new IOException($"listening socket cannot join the epoll loops: errno {errno}");
            }
        }
    }

    /// <summary>Lowers the running flag and removes the socket from the first <paramref name="loops"/> loops (under the gate).</summary>
    private void Leave(int loops)
    {
        _running = false;

        // Paired with the increment before OnReady reads the flag: either it sees the flag down, or the
        // caller's wait that follows sees it inside.
        Interlocked.MemoryBarrier();
        for (var i = 0; i < loops; i++)
        {
            EpollNative.Remove(_transport.Loops[i].Epoll, _fd);
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

            Leave(_transport.Loops.Length);
        }

        // A loop that read the flag before it fell finishes its batch; none starts another one.
        while (Volatile.Read(ref _accepting) != 0)
        {
            await Task.Yield();
        }
    }

    /// <summary>Releases the transport's slot (after <see cref="StopAsync"/>); the descriptor stays its owner's.</summary>
    public void Dispose() => _transport.Release(_id, this);

    /// <summary>
    /// An edge, or a retry after a pause: accepts until the queue is empty (on a loop thread). An
    /// accepted descriptor the handler throws on is closed and reported, and accepting goes on.
    /// </summary>
    internal unsafe void OnReady(EpollLoop loop)
    {
        Interlocked.Increment(ref _accepting);
        try
        {
            var address = stackalloc byte[AddressCapacity];
            while (_running)
            {
                if (!DescriptorReserve.IsWhole)
                {
                    // Out of descriptors lately, maybe for the upstream of the client just handed on: a
                    // client accepted now would take the runtime's room, or be closed at once for want of
                    // an upstream socket, client after client.
                    RetryLater(loop);
                    return;
                }

                var length = AddressCapacity;
                var fd = EpollNative.Accept(_fd, address, &length, EpollNative.SockNonblock | EpollNative.SockCloexec);
                if (fd >= 0)
                {
                    var headroom = DescriptorReserve.KeepHeadroom(fd);
                    if (headroom != 0)
                    {
                        // Served, but too few descriptors are left besides the reserve: it went to the runtime,
                        // and the check at the top of the loop pauses accepting until it is back.
                        _handler.OnAcceptError(headroom);
                    }

                    Hand(fd, new ReadOnlySpan<byte>(address, Math.Min(length, AddressCapacity)), loop.Index);
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollNative.Eagain)
                {
                    return;
                }

                if (errno == EpollNative.Eintr || IsConnectionError(errno))
                {
                    // Interrupted, or one connection that failed on its way in: that one is gone, go on.
                    continue;
                }

                _handler.OnAcceptError(errno);
                if (EpollNative.IsOutOfResources(errno))
                {
                    // The connection stays queued, and the edge was used: waiting for the next client's edge
                    // would leave the queue unserved (for good if nobody else comes). Pause and try again on
                    // this loop, as HAProxy's listener_accept() does (limit_listener, 100 ms); meanwhile the
                    // runtime gets the reserve.
                    DescriptorReserve.Release();
                    RetryLater(loop);
                }

                return;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _accepting);
        }
    }

    /// <summary>The retry of a pause (on the loop that paused): accepts once the descriptor reserve is whole again.</summary>
    internal void OnRetry(EpollLoop loop)
    {
        if (!_running)
        {
            return;
        }

        if (DescriptorReserve.TryRestore())
        {
            OnReady(loop);
        }
        else
        {
            RetryLater(loop);
        }
    }

    private void RetryLater(EpollLoop loop) =>
        loop.RetryAccept(this, Stopwatch.GetTimestamp() + (Stopwatch.Frequency * RetryMilliseconds / 1000));

    /// <summary>
    /// The errors accept(2) documents as the queued connection's own ("already pending network errors"
    /// of Linux's accept(2), and ECONNABORTED): the next one may be fine.
    /// </summary>
    private static bool IsConnectionError(int errno) => errno is EpollNative.Econnaborted or EpollNative.Enetdown or EpollNative.Eproto
        or EpollNative.Enoprotoopt or EpollNative.Ehostdown or EpollNative.Enonet or EpollNative.Ehostunreach
        or EpollNative.Eopnotsupp or EpollNative.Enetunreach;

    private void Hand(int fd, ReadOnlySpan<byte> peer, int loop)
    {
        try
        {
            _handler.OnAccepted(fd, peer, loop);
        }
        catch (Exception e)
        {
            // A throw escaping here would end the loop thread (and the process); the handler did not
            // take the descriptor, so it is closed here and the next client is served.
            EpollNative.Close(fd);
            _handler.OnAcceptFailed(e);
        }
    }
}

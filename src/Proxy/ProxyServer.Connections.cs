using System.Net;
using System.Net.Sockets;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy;

/// <summary>Admission of accepted sockets (limits) and the connections' callbacks.</summary>
public sealed partial class ProxyServer
{
    void DataPlane.Net.IConnectionDispatcher.OnAccepted(Socket socket)
    {
        var options = Options;
        if (!TryOpen(options) || (Volatile.Read(ref _limiter) is not null && !TryRate((socket.RemoteEndPoint as IPEndPoint)?.Address)))
        {
            Refuse(socket, options);
            return;
        }

        var connection = Rent(options, Interlocked.Increment(ref _nextLoop));
        _connections.Add(connection, _time.GetTimestamp());
        connection.Start(socket, options);
    }

    void IEpollAcceptHandler.OnAccepted(int fd, ReadOnlySpan<byte> peer, int loop)
    {
        var options = Options;
        if (!TryOpen(options) || (Volatile.Read(ref _limiter) is not null && !TryRate(AddressOf(peer))))
        {
            Refuse(fd, options);
            return;
        }

        // A connection whose pair runs on the accepting loop (connect and copy with no thread hop), unless
        // that loop has clearly more connections than another.
        ProxyConnection connection;
        try
        {
            connection = Rent(options, _connections.LeastBusy((int)((uint)loop % (uint)_pools.Length)));
        }
        catch
        {
            // The listener closes the descriptor and reports this; the slot counted above is not used.
            Interlocked.Decrement(ref _open);
            throw;
        }

        _connections.Add(connection, _time.GetTimestamp());
        if (connection.Transport == ProxyTransport.Epoll)
        {
            connection.Start(fd, options.Policy == BalancingPolicy.RingHash ? ProxyConnection.HashOf(peer) : 0, options);
        }
        else
        {
            connection.Start(ProxyConnection.Wrap(fd), options);
        }
    }

    void IEpollAcceptHandler.OnAcceptError(int errno)
    {
        Interlocked.Increment(ref _acceptErrors);
        ReportOutOfResources("accept", errno);
    }

    void IConnectionHost.OnOutOfResources(int errno) => ReportOutOfResources("upstream socket", errno);

    void IEpollAcceptHandler.OnAcceptFailed(Exception error)
    {
        Interlocked.Increment(ref _acceptErrors);
        LogUnexpected(Name, error);
    }

    void DataPlane.Net.IConnectionDispatcher.OnAcceptError(Exception error)
    {
        Interlocked.Increment(ref _acceptErrors);
        if (error is SocketException socketError && DescriptorReserve.IsOutOfResources(socketError.SocketErrorCode))
        {
            // As the epoll listener reports it: no exception logged, its stack trace would open files.
            ReportOutOfResources("accept", socketError.NativeErrorCode);
            return;
        }

        LogAcceptError(Name, error);
    }

    void IConnectionHost.OnConnected(Upstream upstream, TimeSpan latency) => _metrics?.RecordConnect(upstream, latency);

    void IConnectionHost.OnConnectFailed(Upstream upstream, ConnectFailure cause, HealthChange change)
    {
        LogConnectFailed(Name, upstream.Address, cause);
        if (change.HasFlag(HealthChange.BreakerOpened))
        {
            LogBreakerOpened(Name, upstream.Address, cause, Options.BreakerOpen);
        }

        if (change.HasFlag(HealthChange.Ejected))
        {
            LogEjected(Name, upstream.Address, upstream.Ejections, upstream.Ejections * Options.EjectionBase);
        }
    }

    void IConnectionHost.OnNoUpstream() => Interlocked.Increment(ref _noUpstream);

    void IConnectionHost.OnClosed(Upstream upstream, TimeSpan duration) => _metrics?.RecordClosed(upstream, duration);

    void IConnectionHost.OnUnexpected(Exception error) => LogUnexpected(Name, error);

    void IConnectionHost.Return(ProxyConnection connection)
    {
        _connections.Remove(connection);
        Interlocked.Decrement(ref _open);
        var options = Options;
        var pool = _pools[connection.LoopIndex];
        if (connection.TryReset() && connection.Fits(options) && pool.Count < PoolLimit && !_stopping)
        {
            pool.Enqueue(connection);
        }
        else
        {
            connection.Dispose();
        }

        if (_stopping && _connections.Count == 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Logs a failed accept or socket(): out of descriptors this comes on every retry of every loop, so a
    /// line a second at most. No exception object either: formatting its stack trace opens files, and
    /// there are none to spare.
    /// </summary>
    private void ReportOutOfResources(string call, int errno)
    {
        var count = Interlocked.Increment(ref _resourceErrors);
        var now = Environment.TickCount64;
        var last = Volatile.Read(ref _resourceErrorLoggedAt);
        if (now - last >= ResourceErrorLogPeriodMs && Interlocked.CompareExchange(ref _resourceErrorLoggedAt, now, last) == last)
        {
            LogResourceError(Name, call, errno, count);
        }
    }

    /// <summary>Closes a refused client at once, after the configured reject bytes if any.</summary>
    private static void Refuse(Socket socket, ProxyOptions options)
    {
        try
        {
            if (options.RejectResponse is { Length: > 0 } response)
            {
                // A fresh socket's send buffer is empty: this small send does not block.
                socket.Send(response.Span);
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
            // The client left already.
        }

        socket.Dispose();
    }

    /// <summary>Refuses a descriptor the epoll loop accepted, as <see cref="Refuse(Socket, ProxyOptions)"/> does a socket.</summary>
    private static unsafe void Refuse(int fd, ProxyOptions options)
    {
        if (options.RejectResponse is { Length: > 0 } response)
        {
            // A fresh socket's send buffer is empty: this small send does not block; a client that left fails it.
            fixed (byte* bytes = response.Span)
            {
                EpollNative.Send(fd, bytes, response.Length, EpollNative.MsgDontWait | EpollNative.MsgNoSignal);
            }

            EpollNative.Shutdown(fd, EpollNative.ShutWrite);
        }

        EpollNative.Close(fd);
    }

    /// <summary>Counts a new connection against --max-connections; false (counted as over the limit) when it is refused.</summary>
    private bool TryOpen(ProxyOptions options)
    {
        var open = Interlocked.Increment(ref _open);
        if (_stopping || (options.MaxConnections > 0 && open > options.MaxConnections))
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _overLimit);
            return false;
        }

        return true;
    }

    /// <summary>Asks the rate limit for a client of <paramref name="address"/> (unknown: admitted); false (counted) when refused.</summary>
    private bool TryRate(IPAddress? address)
    {
        if (address is null || Volatile.Read(ref _limiter) is not { } limiter || limiter.TryAcquire(address))
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        Interlocked.Increment(ref _rateLimited);
        return false;
    }

    /// <summary>The address in a sockaddr_in or sockaddr_in6 (null for another family).</summary>
    private static IPAddress? AddressOf(ReadOnlySpan<byte> sockaddr) =>
        sockaddr.Length >= 8 && sockaddr[0] == EpollNative.AfInet ? new IPAddress(sockaddr.Slice(4, 4))
        : sockaddr.Length >= 24 && sockaddr[0] == EpollNative.AfInet6 ? new IPAddress(sockaddr.Slice(8, 16))
        : null;

    /// <summary>A pooled connection of loop <paramref name="loop"/>, or a new one there.</summary>
    internal ProxyConnection Rent(ProxyOptions options, int loop)
    {
        var index = (int)((uint)loop % (uint)_pools.Length);
        while (_pools[index].TryDequeue(out var pooled))
        {
            if (pooled.Fits(options))
            {
                return pooled;
            }

            // Built for buffer settings a reconfiguration changed: its epoll pair goes back to the
            // transport (dropped here, the pair would never be reused nor freed).
            pooled.Dispose();
        }

        Interlocked.Increment(ref _created);
        return new ProxyConnection(this, options, index);
    }
}

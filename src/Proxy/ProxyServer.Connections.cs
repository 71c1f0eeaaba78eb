using System.Net;
using System.Net.Sockets;
using DataPlane.Proxy.Forwarding;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy;

/// <summary>Admission of accepted sockets (limits) and the connections' callbacks.</summary>
public sealed partial class ProxyServer
{
    void DataPlane.Net.IConnectionDispatcher.OnAccepted(Socket socket)
    {
        var options = Options;
        var open = Interlocked.Increment(ref _open);
        if (_stopping || (options.MaxConnections > 0 && open > options.MaxConnections))
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _overLimit);
            Refuse(socket, options);
            return;
        }

        var limiter = Volatile.Read(ref _limiter);
        if (limiter is not null && socket.RemoteEndPoint is IPEndPoint remote && !limiter.TryAcquire(remote.Address))
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _rateLimited);
            Refuse(socket, options);
            return;
        }

        var connection = Rent(options);
        _connections.Add(connection);
        _ = connection.RunAsync(socket, options);
    }

    void DataPlane.Net.IConnectionDispatcher.OnAcceptError(Exception error) => LogAcceptError(Name, error);

    void IConnectionHost.OnConnected(Upstream upstream, TimeSpan latency) => _metrics?.RecordConnect(upstream, latency);

    void IConnectionHost.OnConnectFailed(Upstream upstream, ConnectFailure cause) => LogConnectFailed(Name, upstream.Address, cause);

    void IConnectionHost.OnNoUpstream() => Interlocked.Increment(ref _noUpstream);

    void IConnectionHost.OnClosed(Upstream upstream, TimeSpan duration) => _metrics?.RecordClosed(upstream, duration);

    void IConnectionHost.OnUnexpected(Exception error) => LogUnexpected(Name, error);

    void IConnectionHost.Return(ProxyConnection connection)
    {
        _connections.Remove(connection);
        Interlocked.Decrement(ref _open);
        var options = Options;
        if (connection.TryReset() && connection.Fits(options) && _pool.Count < PoolLimit && !_stopping)
        {
            _pool.Enqueue(connection);
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

    private ProxyConnection Rent(ProxyOptions options) =>
        _pool.TryDequeue(out var pooled) && pooled.Fits(options) ? pooled : new ProxyConnection(this, options);
}

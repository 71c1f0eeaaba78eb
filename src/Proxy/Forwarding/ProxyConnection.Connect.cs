using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>Picking and connecting the upstream, with a connect timeout and retries on other upstreams.</summary>
internal sealed partial class ProxyConnection
{
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<bool> ConnectAsync(ulong clientHash, ProxyOptions options)
    {
        var cluster = _host.Cluster;
        var set = cluster.Set;
        ulong tried = 0;
        var attempts = 0;

        // Each upstream is tried at most once; a breaker that refuses its trial does not use up a retry.
        for (var picks = 0; picks < set.Count + options.Retries + 1 && attempts <= options.Retries; picks++)
        {
            var index = cluster.Pick(set, tried, clientHash);
            if (index < 0)
            {
                return false;
            }

            tried |= index < 64 ? 1UL << index : 0;
            var upstream = set.Items[index];
            if (!upstream.Breaker.TryAcquire(options.BreakerHalfOpenTrials))
            {
                continue;
            }

            attempts++;
            upstream.OnConnecting();
            var startedAt = _host.Time.GetTimestamp();
            var failure = _pair is not null ? await TryConnectPairAsync(upstream, options.ConnectTimeout)
                : await TryConnectSocketAsync(upstream, options.ConnectTimeout);
            if (Volatile.Read(ref _aborted) != 0)
            {
                Close(_upstreamSocket, ref _upstreamFd, reset: false);
                _upstreamSocket = null;
                upstream.OnReleased();
                return false;
            }

            if (failure is null)
            {
                _upstream = upstream;
                upstream.OnEstablished();
                cluster.OnConnected(upstream, startedAt);
                _host.OnConnected(upstream, _host.Time.GetElapsedTime(startedAt));
                return true;
            }

            Close(_upstreamSocket, ref _upstreamFd, reset: false);
            _upstreamSocket = null;
            upstream.OnReleased();
            Failed(upstream, failure.Value);
            if (failure == ConnectFailure.OutOfResources)
            {
                // No other upstream is tried: its socket would take the descriptors just given back to the
                // runtime. The client is closed at once (an abort, so not counted as "no upstream").
                Abort(reset: false);
                return false;
            }
        }

        return false;
    }

    private ValueTask<ConnectFailure?> TryConnectSocketAsync(Upstream upstream, TimeSpan timeout)
    {
        Socket socket;
        try
        {
            socket = new Socket(upstream.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }
        catch (SocketException e) when (DescriptorReserve.IsOutOfResources(e.SocketErrorCode))
        {
            // Out of descriptors or memory, as the epoll transport's socket() can be (TryConnectPairAsync).
            return new ValueTask<ConnectFailure?>(OutOfResources(e.NativeErrorCode));
        }

        // Published before the connect (with a full fence) so that an abort meanwhile (drain deadline,
        // idle sweep) closes it, and checked after it, so an aborted connection never starts copying.
        Interlocked.Exchange(ref _upstreamSocket, socket);
        return Volatile.Read(ref _aborted) == 0 ? TryConnectAsync(socket, upstream, timeout) : new ValueTask<ConnectFailure?>(ConnectFailure.Error);
    }

    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<ConnectFailure?> TryConnectAsync(Socket socket, Upstream upstream, TimeSpan timeout)
    {
        var cancel = _cancel;
        cancel.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(upstream.EndPoint, cancel.Token);
            return null;
        }
        catch (OperationCanceledException)
        {
            return ConnectFailure.Timeout;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused ? ConnectFailure.Refused
                : e.SocketErrorCode == SocketError.TimedOut ? ConnectFailure.Timeout
                : ConnectFailure.Error;
        }
        finally
        {
            // Stop the timer; a token that fired cannot be reused, so the connection gets a new one.
            if (!cancel.TryReset())
            {
                cancel.Dispose();
                _cancel = new CancellationTokenSource();
            }
        }
    }

    /// <summary>
    /// An upstream socket the process had no descriptor (or memory) for: the reserve goes back so the process
    /// can go on, the host counts it, and it is never held against the upstream.
    /// </summary>
    private ConnectFailure OutOfResources(int errno)
    {
        DescriptorReserve.Release();
        _host.OnOutOfResources(errno);
        return ConnectFailure.OutOfResources;
    }

    /// <summary>An upstream failed this connection (a connect, or a reset mid-stream): its passive health hears it, and the listener logs what changed.</summary>
    private void Failed(Upstream upstream, ConnectFailure cause) => _host.OnConnectFailed(upstream, cause, _host.Cluster.OnFailure(upstream, cause));
}

using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Net.Epoll;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The connection on the epoll transport: the pair's loop connects and copies; the sockets are
/// closed only here, after the pair let go of them (closing a descriptor under a loop that is about
/// to use it could hit a new connection that got the same number), so an abort asks the loop.
/// </summary>
internal sealed partial class ProxyConnection
{
    /// <summary>
    /// One connect attempt on the pair's loop: a raw non-blocking socket (no runtime Socket), and the
    /// deadline kept by the loop (no timer per connect). The descriptor is closed here only.
    /// </summary>
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<ConnectFailure?> TryConnectPairAsync(Upstream upstream, TimeSpan timeout)
    {
        var fd = EpollNative.OpenTcp(upstream.EndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? EpollNative.AfInet6 : EpollNative.AfInet);
        if (fd < 0)
        {
            if (EpollNative.IsOutOfResources(-fd))
            {
                // Out of descriptors: this client is closed, and no listener accepts another until the
                // reserve is back (accepting on would close client after client the same way, and leave
                // the runtime no room to start a thread).
                return OutOfResources(-fd);
            }

            return ConnectFailure.Error;
        }

        _upstreamFd = fd;
        if (!MarkPairBusy())
        {
            return ConnectFailure.Error;
        }

        SocketError error;
        try
        {
            error = await _pair!.ConnectAsync(fd, upstream.SocketAddress, timeout);
        }
        finally
        {
            Volatile.Write(ref _pairBusy, 0);
        }

        return error switch
        {
            SocketError.Success => null,
            SocketError.ConnectionRefused => ConnectFailure.Refused,
            SocketError.TimedOut => ConnectFailure.Timeout,
            _ => ConnectFailure.Error,
        };
    }

    /// <summary>Runs the pair until it ends or pauses; how each direction stopped.</summary>
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<(DirectionEnd Up, DirectionEnd Down)> ForwardPairAsync()
    {
        if (!MarkPairBusy())
        {
            _closeWithReset = true;
            return (DirectionEnd.Failed, DirectionEnd.Failed);
        }

        var result = await _pair!.ForwardAsync(_clientFd, _fromClient, _fromUpstream);
        Volatile.Write(ref _pairBusy, 0);
        switch (result)
        {
            case PairResult.Completed:
                return (DirectionEnd.Ended, DirectionEnd.Ended);
            case PairResult.Paused:
                // A migration's quiet point: what was received was sent; a direction whose FIN passed stays ended.
                _clientEnded = _pair.ClientEnded;
                _upstreamEnded = _pair.UpstreamEnded;
                return (_clientEnded ? DirectionEnd.Ended : DirectionEnd.Paused, _upstreamEnded ? DirectionEnd.Ended : DirectionEnd.Paused);
            case PairResult.UpstreamReset:
                // The upstream reset a live connection: passive health counts it.
                Failed(_upstream!, ConnectFailure.Reset);
                break;
        }

        // A reset stays a reset on the other side; an abort (idle, drain deadline) resets too.
        _closeWithReset = true;
        return (DirectionEnd.Failed, DirectionEnd.Failed);
    }

    /// <summary>
    /// Says the pair is about to run for this connection unless it was aborted; with the fences of
    /// both exchanges, either this sees the abort or <see cref="AbortPair"/> sees the pair busy.
    /// </summary>
    private bool MarkPairBusy()
    {
        Interlocked.Exchange(ref _pairBusy, 1);
        if (Volatile.Read(ref _aborted) == 0)
        {
            return true;
        }

        Volatile.Write(ref _pairBusy, 0);
        return false;
    }

    private void AbortPair(bool reset)
    {
        if (reset)
        {
            _closeWithReset = true;
        }

        if (Interlocked.Exchange(ref _aborted, 1) == 0 && Volatile.Read(ref _pairBusy) != 0)
        {
            _pair!.Abort();
        }
    }
}

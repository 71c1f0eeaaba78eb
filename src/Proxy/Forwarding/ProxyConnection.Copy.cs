using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Net;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The two copy directions, each a receive loop and a send loop around a pipe whose pause/resume
/// thresholds are the back-pressure. A FIN travels on as a shutdown of the sending half (half-closed
/// protocols keep working); a reset or a failed socket resets both sides at once. A migration stops
/// both directions at a quiet point and copying goes on here, or in another process.
/// </summary>
internal sealed partial class ProxyConnection
{
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder))]
    private async ValueTask CopyAsync()
    {
        if (_pair is not null)
        {
            while (true)
            {
                var (up, down) = await ForwardPairAsync();
                if (!await PausedAndResumedAsync(up, down))
                {
                    return;
                }
            }
        }

        var client = _client!;
        var upstream = _upstreamSocket!;
        while (true)
        {
            // Both directions start before either is awaited; each reacts to its own end as it happens.
            // A direction that ended (its FIN passed on) before a migration does not start again.
            var toUpstream = _clientEnded ? new ValueTask<DirectionEnd>(DirectionEnd.Ended) : DirectionAsync(client, _toUpstream!, upstream, _fromClient, fromUpstream: false);
            var toClient = _upstreamEnded ? new ValueTask<DirectionEnd>(DirectionEnd.Ended) : DirectionAsync(upstream, _toClient!, client, _fromUpstream, fromUpstream: true);
            var up = await toUpstream;
            var down = await toClient;
            _clientEnded = up == DirectionEnd.Ended;
            _upstreamEnded = down == DirectionEnd.Ended;
            if (!await PausedAndResumedAsync(up, down))
            {
                return;
            }
        }
    }

    /// <summary>
    /// One direction: the receive loop and the send loop. When a migration cancels the receive, what it
    /// already received is flushed into the pipe and the send loop stops once the pipe is empty: every
    /// byte read from one socket was written to the other, and neither socket was touched otherwise.
    /// </summary>
    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<DirectionEnd> DirectionAsync(Socket from, Pipe pipe, Socket to, DirectionObserver observer, bool fromUpstream)
    {
        var receiving = ReceiveAsync(from, pipe.Writer, observer, fromUpstream, _receiveStop.Token);
        var sending = SendAsync(pipe.Reader, to, _cancel.Token);
        var received = await receiving;
        if (received == PumpResult.Cancelled)
        {
            // Not cancellable: a flush cancelled before it starts would leave the last bytes uncommitted.
            await pipe.Writer.FlushAsync(CancellationToken.None);
            pipe.Reader.CancelPendingRead();
        }

        var sent = await sending;
        return (received, sent) switch
        {
            (PumpResult.Completed, PumpResult.Completed) => DirectionEnd.Ended,
            (PumpResult.Cancelled, PumpResult.Cancelled) => DirectionEnd.Paused,
            _ => DirectionEnd.Failed,
        };
    }

    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<PumpResult> ReceiveAsync(Socket socket, PipeWriter writer, DirectionObserver observer, bool fromUpstream, CancellationToken token)
    {
        var result = await SocketPump.ReceiveAsync(socket, writer, observer, BufferSize, token);
        if (result == PumpResult.Reset && fromUpstream)
        {
            // The upstream reset a live connection: passive health counts it. (Our own abort closes the
            // socket under the receive, which ends it with OperationAborted, never with a reset.)
            Failed(_upstream!, ConnectFailure.Reset);
        }

        if (result is PumpResult.Reset or PumpResult.Aborted)
        {
            Abort(reset: true);
        }

        return result;
    }

    /// <summary>
    /// The first direction to end passes its FIN on with a shutdown; when the second ends, every loop
    /// is done and both sockets are closed at once, and the close sends that FIN.
    /// </summary>
    private bool FirstToEnd() => Interlocked.Increment(ref _sendsEnded) == 1;

    [AsyncMethodBuilder(typeof(ConnectionTaskBuilder<>))]
    private async ValueTask<PumpResult> SendAsync(PipeReader reader, Socket socket, CancellationToken token)
    {
        var result = await SocketPump.SendAsync(reader, socket, _shutdownOnEnd, token);
        if (result is PumpResult.Reset or PumpResult.Aborted)
        {
            Abort(reset: true);
        }

        return result;
    }

    /// <summary>Counts the bytes of one direction and stamps the connection's last activity.</summary>
    private sealed class DirectionObserver(ProxyConnection connection, bool toUpstream) : ITransferObserver
    {
        public void OnTransferred(int bytes)
        {
            connection.LastActivity = connection._host.Time.GetTimestamp();
            var upstream = connection._upstream!;
            if (toUpstream)
            {
                upstream.AddBytesToUpstream(bytes);
            }
            else
            {
                upstream.AddBytesToClient(bytes);
            }
        }
    }
}

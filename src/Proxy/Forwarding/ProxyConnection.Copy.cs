using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using DataPlane.Net;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>
/// The two copy directions, each a receive loop and a send loop around a pipe whose pause/resume
/// thresholds are the back-pressure. A FIN travels on as a shutdown of the sending half (half-closed
/// protocols keep working); a reset or a failed socket resets both sides at once.
/// </summary>
internal sealed partial class ProxyConnection
{
    private async Task CopyAsync()
    {
        if (_pair is not null)
        {
            await ForwardPairAsync();
            return;
        }

        var client = _client!;
        var upstream = _upstreamSocket!;
        var token = _cancel.Token;

        // All four loops start before any is awaited; each reacts to its own end as it happens.
        var clientToPipe = ReceiveAsync(client, _toUpstream.Writer, _fromClient, fromUpstream: false, token);
        var pipeToUpstream = SendAsync(_toUpstream.Reader, upstream, token);
        var upstreamToPipe = ReceiveAsync(upstream, _toClient.Writer, _fromUpstream, fromUpstream: true, token);
        var pipeToClient = SendAsync(_toClient.Reader, client, token);
        await clientToPipe;
        await pipeToUpstream;
        await upstreamToPipe;
        await pipeToClient;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReceiveAsync(Socket socket, PipeWriter writer, DirectionObserver observer, bool fromUpstream, CancellationToken token)
    {
        var result = await SocketPump.ReceiveAsync(socket, writer, observer, BufferSize, token);
        if (result == PumpResult.Reset && fromUpstream)
        {
            // The upstream reset a live connection: passive health counts it. (Our own abort closes the
            // socket under the receive, which ends it with OperationAborted, never with a reset.)
            _host.Cluster.OnFailure(_upstream!, ConnectFailure.Reset);
            _host.OnConnectFailed(_upstream!, ConnectFailure.Reset);
        }

        if (result is PumpResult.Reset or PumpResult.Aborted)
        {
            Abort(reset: true);
        }
    }

    /// <summary>
    /// The first direction to end passes its FIN on with a shutdown; when the second ends, every loop
    /// is done and both sockets are closed at once, and the close sends that FIN.
    /// </summary>
    private bool FirstToEnd() => Interlocked.Increment(ref _sendsEnded) == 1;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(PipeReader reader, Socket socket, CancellationToken token)
    {
        var result = await SocketPump.SendAsync(reader, socket, _shutdownOnEnd, token);
        if (result is PumpResult.Reset or PumpResult.Aborted)
        {
            Abort(reset: true);
        }
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

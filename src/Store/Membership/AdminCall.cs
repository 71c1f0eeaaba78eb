using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Membership;

/// <summary>
/// One request over a short-lived internode connection, for callers that are not (yet) peers: a node
/// joining through a seed whose name it does not know, or the <c>dataplane store leave</c> command.
/// </summary>
internal static class AdminCall
{
    public static async Task<PeerResponse> CallAsync(IPEndPoint endPoint, string localName, string clusterName, FrameType type, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint, deadline.Token).ConfigureAwait(false);
        var frame = new byte[Frame.HeaderSize + payload.Length];
        Frame.WriteHeader(frame, type, 1, payload.Length);
        payload.CopyTo(frame, Frame.HeaderSize);
        await socket.SendAsync(Handshake.Build(localName, clusterName), SocketFlags.None, deadline.Token).ConfigureAwait(false);
        await socket.SendAsync(frame, SocketFlags.None, deadline.Token).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var input = PipeReader.Create(stream);
        try
        {
            var shookHands = false;
            while (true)
            {
                var result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!shookHands && Handshake.TryRead(ref buffer, clusterName, out _))
                {
                    shookHands = true;
                }

                if (shookHands && Frame.TryRead(ref buffer, out var replyType, out _, out var reply))
                {
                    return new PeerResponse(replyType, reply.ToArray());
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    throw new IOException($"{endPoint} closed the connection without a reply (another cluster name?)");
                }
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }
}

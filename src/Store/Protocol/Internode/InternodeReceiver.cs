using System.Buffers;
using System.Net.Sockets;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// A peer's connection into this node, received on an event loop: the loop applies each batch of
/// frames on the connection's own session with the outbox corked, secures the batch's writes in the
/// log, and only then lets the acknowledgements go, in the loop's one send to the peer at the end of
/// its round. A log that refuses the writes, or a malformed frame, closes the connection with nothing
/// of the batch acknowledged.
/// </summary>
internal sealed class InternodeReceiver(InternodeConnection connection, Socket socket, ReplicaSession session, FrameOutbox outbox, Replica.Replica replica)
    : LoopReceiver(socket)
{
    private long _before;

    protected override void BeginBatch()
    {
        outbox.Cork();
        _before = session.LastSequence;
    }

    protected override bool Consume(ref ReadOnlySequence<byte> buffer) => connection.HandleFrames(ref buffer, session, outbox);

    protected override void OnMalformed(string reason) => connection.OnMalformed(reason);

    protected override bool EndBatch(bool open, bool consumed)
    {
        if (open && session.LastSequence != _before)
        {
            // Off fsync always (which keeps peers off the loops) securing is a write to the file, done here.
            var secured = replica.Wal.SecureAsync(session.LastSequence);
            open = secured.IsCompletedSuccessfully && secured.Result;
        }

        if (!open)
        {
            // Left corked: the acknowledgements of this batch never leave.
            return false;
        }

        outbox.Uncork();
        return true;
    }
}

using System.Buffers;
using System.Net.Sockets;

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// The receive side of a <see cref="PeerClient"/> connection run by an <see cref="IPeerLoop"/>: the
/// loop completes the requests of the peer's replies on its own thread.
/// </summary>
internal sealed class PeerReceiver(PeerClient client, Socket socket) : LoopReceiver(socket)
{
    protected override bool Consume(ref ReadOnlySequence<byte> buffer) => client.CompleteReplies(ref buffer);

    protected override void OnMalformed(string reason) => client.OnMalformed(reason);

    public override bool Ticks => true;

    public override void Tick() => client.Sweep();

    protected override bool EndBatch(bool open, bool consumed)
    {
        if (consumed)
        {
            client.OnHeard();
        }

        return open;
    }
}

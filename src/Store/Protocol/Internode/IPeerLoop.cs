namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// An event loop that receives a peer connection's replies on its own thread (a cluster node's
/// client loop): the operations they decide complete there, and the clients waiting on them are
/// answered in the same round, with no lock contended and no thread woken in between.
/// </summary>
internal interface IPeerLoop
{
    /// <summary>
    /// Takes <paramref name="receiver"/>'s socket into the loop (any thread); from then on only the
    /// loop closes it. False when the loop has ended: the caller still owns the socket.
    /// </summary>
    bool TryAdopt(PeerReceiver receiver);

    /// <summary>Closes an adopted connection on the loop's thread (any thread), or at once when the loop has ended.</summary>
    void Drop(PeerReceiver receiver);
}

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// An event loop that receives internode connections on its own thread (a cluster node's client
/// loop): the replies of this node's requests, whose operations complete there and whose clients are
/// answered in the same round, with no lock contended and no thread woken in between; and the peers'
/// requests to this node's replica.
/// </summary>
internal interface IPeerLoop
{
    /// <summary>
    /// Takes <paramref name="receiver"/>'s socket into the loop (any thread); from then on only the
    /// loop closes it. False when the loop has ended: the caller still owns it, and closes it.
    /// </summary>
    bool TryAdopt(ILoopConnection receiver);

    /// <summary>Closes an adopted connection on the loop's thread (any thread), or at once when the loop has ended.</summary>
    void Drop(ILoopConnection receiver);
}

namespace DataPlane.Store.Protocol.Internode;

/// <summary>Why a request sent to a peer got no reply.</summary>
internal enum PeerFailure
{
    /// <summary>There was no connection, or it was lost before the reply.</summary>
    Unavailable,

    /// <summary>The request's timeout passed (waiting for an in-flight slot or for the reply).</summary>
    Timeout,
}

namespace DataPlane.Store.Protocol.Internode;

/// <summary>
/// Receives the outcome of a request sent with <see cref="PeerClient.TrySend"/>: exactly one
/// <see cref="OnReply"/> or <see cref="OnFailure"/> per request, possibly preceded by one
/// <see cref="OnSlow"/>. The calls run on the connection's receive loop or the peer's sweep timer,
/// so a handler does short, non-blocking work; the coordinator's pooled operations are handlers, which
/// is what keeps a request free of a task and a continuation of its own.
/// </summary>
internal interface IPeerReplyHandler
{
    /// <summary>The peer's reply; <paramref name="payload"/> is valid only during the call.</summary>
    void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload);

    /// <summary>No reply: the connection was lost, or the request's timeout passed.</summary>
    void OnFailure(int token, PeerFailure failure);

    /// <summary>The request has waited longer than the slow threshold it was sent with; its outcome is still to come.</summary>
    void OnSlow(int token);
}

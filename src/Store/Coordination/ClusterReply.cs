namespace DataPlane.Store.Coordination;

/// <summary>
/// The reply to come of a command a cluster node started: either its bytes, or (for GET) the quorum
/// read itself, which writes its reply into the client's output once it completes, so that the hot
/// read allocates no reply array.
/// </summary>
internal readonly struct ClusterReply
{
    public ClusterReply(ValueTask<byte[]> bytes) => Bytes = bytes;

    public ClusterReply(ReadOperation read) => Read = read;

    /// <summary>The reply's bytes, when <see cref="Read"/> is null.</summary>
    public ValueTask<byte[]> Bytes { get; }

    /// <summary>The GET's read: await its <see cref="ReadOperation.AsCompletion"/>, then call its <see cref="ReadOperation.WriteReply"/>, once.</summary>
    public ReadOperation? Read { get; }
}

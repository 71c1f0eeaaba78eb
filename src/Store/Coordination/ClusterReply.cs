namespace DataPlane.Store.Coordination;

/// <summary>
/// The reply to come of a command a cluster node started: either its bytes, or (for GET) the quorum
/// read itself, which writes its reply into the client's output once it completes, so that the hot
/// read allocates no reply array. SET and GET also carry their operation, which an event loop
/// watches (<see cref="TryWatch"/>) instead of awaiting the reply.
/// </summary>
internal readonly struct ClusterReply
{
    private readonly IWatchedOperation? _watched;
    private readonly ValueTask<byte[]> _bytes;

    public ClusterReply(ValueTask<byte[]> bytes) => _bytes = bytes;

    public ClusterReply(QuorumWrite write) => _watched = write;

    public ClusterReply(ReadOperation read)
    {
        Read = read;
        _watched = read;
    }

    /// <summary>The reply's bytes, when <see cref="Read"/> is null; to be consumed once.</summary>
    public ValueTask<byte[]> Bytes => _watched is QuorumWrite write ? write.AsReply() : _bytes;

    /// <summary>The GET's read: await its <see cref="ReadOperation.AsCompletion"/>, then call its <see cref="ReadOperation.WriteReply"/>, once.</summary>
    public ReadOperation? Read { get; }

    /// <summary>
    /// Has <paramref name="onDecided"/> called (on any thread) once the reply can be written without
    /// waiting; false, and it is never called, when it can be now.
    /// </summary>
    public bool TryWatch(Action onDecided)
    {
        if (_watched is not null)
        {
            return _watched.TryWatch(onDecided);
        }

        if (_bytes.IsCompleted)
        {
            return false;
        }

        // The other commands (MGET, DEL, INCR...) are async methods: their continuation runs where the task completes.
        _bytes.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onDecided);
        return true;
    }
}

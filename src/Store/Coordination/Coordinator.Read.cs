namespace DataPlane.Store.Coordination;

internal sealed partial class Coordinator
{
    /// <summary>GET: a quorum read of <paramref name="key"/>; once <see cref="ReadOperation.AsCompletion"/> completes, <see cref="ReadOperation.WriteReply"/> writes its reply into the client's output, with nothing allocated on the way (see <see cref="ReadOperation"/>).</summary>
    public ReadOperation StartGet(ReadOnlySpan<byte> key)
    {
        var read = _reads.Get();
        read.Start(key);
        return read;
    }

    /// <summary>
    /// Reads a key from R of its healthy replicas (see <see cref="ReadOperation"/>): the newest stored
    /// value (tombstones included, null when no replica has the key) once R answered, or the error
    /// reply's text. Stale replicas are repaired in the background.
    /// </summary>
    public ValueTask<ReadOutcome> ReadAsync(ReadOnlySpan<byte> key)
    {
        var read = _reads.Get();
        read.Start(key);
        return read.AsOutcome();
    }
}

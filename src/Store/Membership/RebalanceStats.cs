namespace DataPlane.Store.Membership;

/// <summary>What this node's rebalancing moved, as INFO and the store meter report it.</summary>
internal sealed class RebalanceStats
{
    private long _partitionsMoved;
    private long _keysMoved;
    private long _bytesMoved;
    private long _inFlight;
    private long _restarted;
    private long _keysDropped;

    /// <summary>Partitions received whole.</summary>
    public long PartitionsMoved => Interlocked.Read(ref _partitionsMoved);

    /// <summary>Keys received in transfer batches.</summary>
    public long KeysMoved => Interlocked.Read(ref _keysMoved);

    /// <summary>Key and stored-value bytes received in transfer batches.</summary>
    public long BytesMoved => Interlocked.Read(ref _bytesMoved);

    /// <summary>Transfers (one per sending node) running now.</summary>
    public long TransfersInFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Transfers begun again after their sender or this node failed.</summary>
    public long TransfersRestarted => Interlocked.Read(ref _restarted);

    /// <summary>Keys of partitions this node no longer owns, deleted after the switch.</summary>
    public long KeysDropped => Interlocked.Read(ref _keysDropped);

    public void Received(int keys, long bytes)
    {
        Interlocked.Add(ref _keysMoved, keys);
        Interlocked.Add(ref _bytesMoved, bytes);
    }

    public void Completed(int partitions) => Interlocked.Add(ref _partitionsMoved, partitions);

    public void Started() => Interlocked.Increment(ref _inFlight);

    public void Ended() => Interlocked.Decrement(ref _inFlight);

    public void Restarted() => Interlocked.Increment(ref _restarted);

    public void Dropped(long keys) => Interlocked.Add(ref _keysDropped, keys);
}

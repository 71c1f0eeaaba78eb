namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// One node's anti-entropy counters since it started, in INFO's cluster section and on the
/// <c>DataPlane.Store</c> meter. Keys and bytes count both roles: the exchanges this node starts and
/// those it answers; bytes are whole frames (header and payload) sent and received.
/// </summary>
internal sealed class AntiEntropyStats
{
    private long _rounds;
    private long _partitionsCompared;
    private long _partitionsDiffering;
    private long _leavesDiffering;
    private long _leavesSettled;
    private long _logScans;
    private long _keysSent;
    private long _keysReceived;
    private long _bytesExchanged;

    /// <summary>Rounds started (one every anti-entropy interval).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Partitions whose roots were compared with a peer (once per peer that shares them).</summary>
    public long PartitionsCompared => Interlocked.Read(ref _partitionsCompared);

    /// <summary>Compared partitions whose roots differed.</summary>
    public long PartitionsDiffering => Interlocked.Read(ref _partitionsDiffering);

    /// <summary>Leaves found to differ by descending the differing partitions.</summary>
    public long LeavesDiffering => Interlocked.Read(ref _leavesDiffering);

    /// <summary>Differing leaves that agreed when compared again a settle pause later (a write was in flight), so were not scanned.</summary>
    public long LeavesSettled => Interlocked.Read(ref _leavesSettled);

    /// <summary>Passes over FASTER's whole log to list the keys of differing leaves (one per batch of leaves, on each side of an exchange).</summary>
    public long LogScans => Interlocked.Read(ref _logScans);

    /// <summary>Stored values sent to peers (pushed, or given on a peer's pull).</summary>
    public long KeysSent => Interlocked.Read(ref _keysSent);

    /// <summary>Stored values received from peers (pulled, or pushed by a peer).</summary>
    public long KeysReceived => Interlocked.Read(ref _keysReceived);

    /// <summary>Bytes of anti-entropy frames sent and received.</summary>
    public long BytesExchanged => Interlocked.Read(ref _bytesExchanged);

    public void Round() => Interlocked.Increment(ref _rounds);

    public void Compared(int partitions, int differing)
    {
        Interlocked.Add(ref _partitionsCompared, partitions);
        Interlocked.Add(ref _partitionsDiffering, differing);
    }

    public void LeavesDiffered(int leaves) => Interlocked.Add(ref _leavesDiffering, leaves);

    public void Settled(int leaves) => Interlocked.Add(ref _leavesSettled, leaves);

    public void Scanned() => Interlocked.Increment(ref _logScans);

    public void Sent(int keys) => Interlocked.Add(ref _keysSent, keys);

    public void Received(int keys) => Interlocked.Add(ref _keysReceived, keys);

    /// <summary>Counts one frame of <paramref name="payloadLength"/> bytes, with its header.</summary>
    public void Frame(int payloadLength) => Interlocked.Add(ref _bytesExchanged, Protocol.Internode.Frame.HeaderSize + payloadLength);
}

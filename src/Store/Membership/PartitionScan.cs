using DataPlane.Store.Cluster;
using FASTER.core;

namespace DataPlane.Store.Membership;

/// <summary>
/// A scan of a replica's FASTER log for the keys of some partitions, resumable from a log address so
/// that a transfer goes batch by batch without holding an iterator between requests. It yields keys
/// only: the caller reads each key's current value through a session, because a raw scan may see a
/// record that a writer is updating in place, and an older version of a key is also on the log.
/// </summary>
internal static class PartitionScan
{
    /// <summary>
    /// Records one call reads at most, matching or not (about a millisecond's work): a node that handed
    /// away no partition scanned its whole log, a million records, in one call holding FASTER's epoch,
    /// and in a 1,000,000-key benchmark run the client load stalled for about three seconds right after
    /// a leave, while three nodes did so at once.
    /// </summary>
    private const int MaxRecordsPerCall = 10_000;

    /// <summary>
    /// Collects up to <paramref name="maxKeys"/> distinct keys of the partitions marked in
    /// <paramref name="wanted"/> from log address <paramref name="from"/> (0: the log's beginning), each
    /// with the address it was found at (a batch cut short resumes there), reading at most
    /// <see cref="MaxRecordsPerCall"/> records (so a call may return no key but not done). Returns the
    /// address to continue from and whether the scan reached the log's tail.
    /// </summary>
    public static (long Next, bool Done) Collect(Replica.Replica replica, Placement placement, bool[] wanted, long from, int maxKeys, List<(byte[] Key, long Address)> keys)
    {
        var log = replica.Store.Log;
        var begin = Math.Max(from, log.BeginAddress);
        var tail = log.TailAddress;
        if (begin >= tail)
        {
            return (tail, true);
        }

        var seen = new HashSet<byte[]>(KeyComparer.Instance);
        using var iterator = log.Scan(begin, tail, Buffering(log, begin));
        var records = 0;
        while (iterator.GetNext(out var info))
        {
            if (++records > MaxRecordsPerCall)
            {
                // This record is not looked at: the next call starts with it.
                return (iterator.CurrentAddress, false);
            }

            if (info.Tombstone)
            {
                continue;
            }

            var key = iterator.GetKey().AsReadOnlySpan();
            if (!wanted[placement.PartitionOf(key)])
            {
                continue;
            }

            var copy = key.ToArray();
            if (seen.Add(copy))
            {
                keys.Add((copy, iterator.CurrentAddress));
                if (keys.Count >= maxKeys)
                {
                    return (iterator.NextAddress, false);
                }
            }
        }

        return (tail, true);
    }

    /// <summary>
    /// A buffered scan allocates frames of whole pages (two 32 MiB pages by default) for every
    /// iterator, which under a transfer's batch-by-batch scans means gigabytes of garbage and GC pauses
    /// that clients see; records in memory need no frame, so one is taken only when the scan starts on disk.
    /// </summary>
    private static ScanBufferingMode Buffering(LogAccessor<SpanByte, SpanByte> log, long begin) =>
        begin >= log.HeadAddress ? ScanBufferingMode.NoBuffering : ScanBufferingMode.SinglePageBuffering;

    private sealed class KeyComparer : IEqualityComparer<byte[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => (int)Ring.RingHash.Hash(obj);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using DataPlane.Ring;
using DataPlane.Store.Replica;

namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// A Merkle tree for each of the Q fixed partitions, over what the local replica holds: 64 leaves per
/// partition (the 6 key-hash bits below the partition bits), 8 branches of 8 leaves, one root.
/// <para>
/// Leaves are updated incrementally on every write, not rebuilt from scans: a leaf is the wrapping
/// sum of a 64-bit hash of (key, version) over its keys, so a merge that replaces version v1 by v2
/// subtracts h(key, v1) and adds h(key, v2) with two interlocked adds, in O(1), under the key's lock
/// that the merge already holds. The order of writes to different keys does not matter (addition
/// commutes), so two replicas with the same (key, version) pairs have the same leaves, whatever order
/// the writes came in. A rebuild-by-scan design would cost a pass over the whole log per round
/// (seconds at millions of keys) to learn that usually nothing differs; here an idle round costs
/// reading 512 bytes per partition. The trees are built once from a scan when the node starts, so a
/// restarted node's trees match its recovered data. Branches and roots are hashed on demand from the
/// leaves (a few hundred nanoseconds per partition), so a write never touches more than one leaf.
/// </para>
/// </summary>
internal sealed class MerkleForest
{
    /// <summary>log2 of the leaves per partition.</summary>
    public const int LeafBits = 6;

    public const int LeavesPerPartition = 1 << LeafBits;

    /// <summary>Branches per partition (and leaves per branch).</summary>
    public const int Fanout = 8;

    private readonly long[] _leaves;
    private readonly int _partitionBits;

    public MerkleForest(int partitions)
    {
        if (partitions < 1 || !BitOperations.IsPow2(partitions))
        {
            throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "the partition count must be a power of two");
        }

        Partitions = partitions;
        _partitionBits = BitOperations.Log2((uint)partitions);
        _leaves = new long[(long)partitions * LeavesPerPartition];
    }

    public int Partitions { get; }

    /// <summary>The partition of a key hash (the same top bits <see cref="Cluster.Placement"/> uses).</summary>
    public int PartitionOf(ulong keyHash) => _partitionBits == 0 ? 0 : (int)(keyHash >> (64 - _partitionBits));

    /// <summary>The leaf of a key hash within its partition: the next <see cref="LeafBits"/> bits.</summary>
    public static int LeafOf(ulong keyHash, int partitionBits) => (int)((keyHash >> (64 - partitionBits - LeafBits)) & (LeavesPerPartition - 1));

    public int LeafOf(ulong keyHash) => LeafOf(keyHash, _partitionBits);

    /// <summary>A leaf's global index (partition * 64 + leaf).</summary>
    public int LeafIndexOf(ulong keyHash) => (PartitionOf(keyHash) << LeafBits) | LeafOf(keyHash);

    /// <summary>The contribution of one key at one version to its leaf.</summary>
    public static ulong EntryHash(ulong keyHash, ValueVersion version) =>
        Mix(keyHash ^ Mix((ulong)version.Timestamp) ^ Mix((uint)version.NodeId + 0x9E3779B97F4A7C15UL));

    /// <summary>Records a write: the key now holds <paramref name="version"/> instead of <paramref name="replaced"/> (null when it was absent).</summary>
    public void Replace(ReadOnlySpan<byte> key, ValueVersion? replaced, ValueVersion version) => Replace(RingHash.Hash(key), replaced, version);

    /// <summary>As the other overload, for a key whose <see cref="RingHash"/> the caller has already (a merge took its stripe lock by it).</summary>
    public void Replace(ulong keyHash, ValueVersion? replaced, ValueVersion version)
    {
        var delta = EntryHash(keyHash, version) - (replaced is { } old ? EntryHash(keyHash, old) : 0);
        Interlocked.Add(ref _leaves[LeafIndexOf(keyHash)], (long)delta);
    }

    /// <summary>
    /// Starts loading the leaf of a key hash. The leaves (2 MB at Q = 4096) are written at random, one
    /// cache (and TLB) miss per merge: issued before the merge's FASTER operation, the miss overlaps
    /// FASTER's own (hash bucket, record) instead of following them. The array needs no pinning: a
    /// prefetch never faults, so an address the GC has since moved only wastes the hint.
    /// </summary>
    public unsafe void Prefetch(ulong keyHash)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref _leaves[LeafIndexOf(keyHash)]));
        }
    }

    /// <summary>Records that a key's record (at <paramref name="version"/>) was removed from the store.</summary>
    public void Remove(ReadOnlySpan<byte> key, ValueVersion version)
    {
        var keyHash = RingHash.Hash(key);
        Interlocked.Add(ref _leaves[LeafIndexOf(keyHash)], -(long)EntryHash(keyHash, version));
    }

    /// <summary>The 64 leaf hashes of a partition into <paramref name="destination"/>.</summary>
    public void Leaves(int partition, Span<ulong> destination)
    {
        var offset = partition * LeavesPerPartition;
        for (var i = 0; i < LeavesPerPartition; i++)
        {
            destination[i] = (ulong)Volatile.Read(ref _leaves[offset + i]);
        }
    }

    /// <summary>The 8 leaf hashes under one branch of a partition.</summary>
    public void Leaves(int partition, int branch, Span<ulong> destination)
    {
        var offset = (partition * LeavesPerPartition) + (branch * Fanout);
        for (var i = 0; i < Fanout; i++)
        {
            destination[i] = (ulong)Volatile.Read(ref _leaves[offset + i]);
        }
    }

    /// <summary>The 8 branch hashes of a partition: each the hash of its 8 leaves.</summary>
    public void Branches(int partition, Span<ulong> destination)
    {
        Span<ulong> leaves = stackalloc ulong[Fanout];
        for (var b = 0; b < Fanout; b++)
        {
            Leaves(partition, b, leaves);
            destination[b] = HashOf(leaves);
        }
    }

    /// <summary>A partition's root: the hash of its branches.</summary>
    public ulong Root(int partition)
    {
        Span<ulong> branches = stackalloc ulong[Fanout];
        Branches(partition, branches);
        return HashOf(branches);
    }

    /// <summary>An inner node's hash: XXH64 of its children's hashes (little-endian).</summary>
    public static ulong HashOf(ReadOnlySpan<ulong> children) => RingHash.Hash(MemoryMarshal.AsBytes(children));

    /// <summary>Murmur3's 64-bit finaliser: every input bit affects every output bit.</summary>
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB93FE53A8D34UL;
        x ^= x >> 33;
        return x;
    }
}

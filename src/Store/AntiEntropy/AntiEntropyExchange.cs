using System.Numerics;
using DataPlane.Store.Coordination;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// One round of anti-entropy with one peer, over the partitions both hold. Four steps, each a
/// batched request: (1) a hash of the roots of each group of 64 shared partitions, answered with the
/// peer's roots of the groups that differ; (2) this node's 8 branch hashes of each differing
/// partition, answered with the peer's 8 leaves of each differing branch, then, after a settle
/// pause, the same again for the partitions of the differing leaves, keeping only the leaves that
/// differed both times; (3) the keys and versions of each of those leaves on both sides; (4) values
/// pulled where the peer is newer (or alone) and pushed where this node is, merged by the same
/// last-writer-wins rule as every other write, so a tombstone travels like a value and a delete
/// stays deleted. Only the keys of differing leaves are named, and only the values that differ
/// travel. Value transfer is paced to <c>keysPerSecond</c>, and every request waits for its reply
/// before the next, so an exchange never has more than one request in flight to take capacity from
/// client traffic.
/// <para>
/// The second look is there because step 3 costs a pass over the whole log on each side. Under
/// writes, a few hundred leaves differ at any instant only because a write has reached one replica
/// and not yet the other; it lands within moments and the leaf agrees again, while a write a
/// replica missed keeps its leaf differing. Two instants <paramref name="settle"/> apart rarely share
/// an in-flight leaf among the 64 of each of thousands of partitions, so an exchange under load
/// mostly scans nothing, and a real difference is still repaired in the same exchange. The peer's
/// lease stays held through the pause (the pause is well under its timeout).
/// </para>
/// </summary>
internal sealed class AntiEntropyExchange(
    Replica.Replica replica,
    SessionPool sessions,
    AntiEntropyStats stats,
    PeerClient peer,
    TimeSpan requestTimeout,
    int keysPerSecond,
    TimeSpan settle,
    TimeProvider time)
{
    private const int BranchBatch = 512;
    private const int LeafBatch = 4096;
    private const int KeyBatch = 256;
    private const int PushBudget = 1024 * 1024;

    private readonly WireWriter _request = new();
    private long _started;
    private long _transferred;

    private MerkleForest Forest => replica.Digests!;

    /// <summary>Brings this node and the peer level on <paramref name="shared"/> (ascending partition numbers).</summary>
    public async Task RunAsync(IReadOnlyList<int> shared, CancellationToken cancellationToken)
    {
        if (shared.Count == 0)
        {
            return;
        }

        var partitions = await DifferingPartitionsAsync(shared, cancellationToken).ConfigureAwait(false);
        if (partitions is null)
        {
            return; // Another replica is repairing the peer: this pair compares next round.
        }

        stats.Compared(shared.Count, partitions.Count);
        if (partitions.Count == 0)
        {
            return;
        }

        try
        {
            var leaves = new List<int>();
            for (var i = 0; i < partitions.Count; i += BranchBatch)
            {
                await DifferingLeavesAsync(partitions, i, Math.Min(BranchBatch, partitions.Count - i), leaves, cancellationToken).ConfigureAwait(false);
            }

            stats.LeavesDiffered(leaves.Count);
            if (leaves.Count == 0)
            {
                return;
            }

            await Task.Delay(settle, time, cancellationToken).ConfigureAwait(false);
            var differing = leaves.Count;
            leaves = await StillDifferingAsync(leaves, cancellationToken).ConfigureAwait(false);
            stats.Settled(differing - leaves.Count);

            // The pace counts from here: the descent and the pause moved no values.
            _started = time.GetTimestamp();
            for (var i = 0; i < leaves.Count; i += LeafBatch)
            {
                await RepairLeavesAsync(leaves.GetRange(i, Math.Min(LeafBatch, leaves.Count - i)), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Tells the peer the exchange is over, so another replica may repair it; if this is lost, the peer's lease runs out.</summary>
    private async Task EndAsync()
    {
        _request.Clear();
        try
        {
            await CallAsync(FrameType.AeDone, FrameType.AeDoneAck, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The peer went away: nothing holds its lease any more.
        }
    }

    private async Task<List<int>?> DifferingPartitionsAsync(IReadOnlyList<int> shared, CancellationToken cancellationToken)
    {
        var forest = Forest;
        var mine = new Dictionary<int, ulong>(shared.Count);
        _request.Clear();
        var at = _request.ReserveCount();
        var groups = 0;
        Span<ulong> roots = stackalloc ulong[64];
        for (var i = 0; i < shared.Count;)
        {
            var first = shared[i] & ~63;
            var mask = 0UL;
            var count = 0;
            for (; i < shared.Count && shared[i] < first + 64; i++)
            {
                mask |= 1UL << (shared[i] - first);
                roots[count++] = mine[shared[i]] = forest.Root(shared[i]);
            }

            groups++;
            _request.U32((uint)first);
            _request.U64(mask);
            _request.U64(MerkleForest.HashOf(roots[..count]));
        }

        _request.PatchCount(at, groups);
        var reply = await CallAsync(FrameType.AeGroups, FrameType.AeGroupRoots, FrameType.AeBusy, cancellationToken).ConfigureAwait(false);
        return reply is null ? null : ComparePartitions(reply, mine);
    }

    private static List<int> ComparePartitions(byte[] reply, Dictionary<int, ulong> mine)
    {
        var differing = new List<int>();
        var reader = new WireReader(reply);
        for (var n = reader.Count(12); n > 0; n--)
        {
            var first = (int)reader.U32();
            for (var bits = reader.U64(); bits != 0; bits &= bits - 1)
            {
                var partition = first + BitOperations.TrailingZeroCount(bits);
                var theirs = reader.U64();
                if (mine.TryGetValue(partition, out var root) && theirs != root)
                {
                    differing.Add(partition);
                }
            }
        }

        return differing;
    }

    private async Task DifferingLeavesAsync(List<int> partitions, int start, int count, List<int> leaves, CancellationToken cancellationToken)
    {
        var forest = Forest;
        _request.Clear();
        _request.U32((uint)count);
        Span<ulong> branches = stackalloc ulong[MerkleForest.Fanout];
        for (var i = start; i < start + count; i++)
        {
            _request.U32((uint)partitions[i]);
            forest.Branches(partitions[i], branches);
            foreach (var branch in branches)
            {
                _request.U64(branch);
            }
        }

        var reply = await CallAsync(FrameType.AeBranches, FrameType.AeBranchLeaves, cancellationToken).ConfigureAwait(false);
        var reader = new WireReader(reply);
        Span<ulong> mine = stackalloc ulong[MerkleForest.Fanout];
        for (var n = reader.Count(5 + (8 * MerkleForest.Fanout)); n > 0; n--)
        {
            var partition = WireReader.Below(reader.U32(), forest.Partitions, "partition");
            var branch = WireReader.Below(reader.U8(), MerkleForest.Fanout, "branch");
            forest.Leaves(partition, branch, mine);
            for (var i = 0; i < MerkleForest.Fanout; i++)
            {
                if (reader.U64() != mine[i])
                {
                    leaves.Add((partition << MerkleForest.LeafBits) | (branch * MerkleForest.Fanout) + i);
                }
            }
        }
    }

    /// <summary>Of <paramref name="leaves"/>, those that differ again: their partitions' branches compared once more, as in step 2.</summary>
    private async Task<List<int>> StillDifferingAsync(List<int> leaves, CancellationToken cancellationToken)
    {
        var partitions = leaves.Select(leaf => leaf >> MerkleForest.LeafBits).Distinct().ToList();
        var now = new List<int>();
        for (var i = 0; i < partitions.Count; i += BranchBatch)
        {
            await DifferingLeavesAsync(partitions, i, Math.Min(BranchBatch, partitions.Count - i), now, cancellationToken).ConfigureAwait(false);
        }

        var again = new HashSet<int>(now);
        return leaves.FindAll(again.Contains);
    }

    private async Task RepairLeavesAsync(List<int> leaves, CancellationToken cancellationToken)
    {
        _request.Clear();
        _request.U32((uint)leaves.Count);
        foreach (var leaf in leaves)
        {
            _request.U32((uint)leaf);
        }

        var reply = await CallAsync(FrameType.AeDigests, FrameType.AeDigestList, cancellationToken).ConfigureAwait(false);
        var theirs = ParseDigests(reply);
        Dictionary<int, List<KeyDigest>> mine;
        var session = sessions.Rent();
        try
        {
            mine = LeafScan.Collect(replica, session, theirs.Keys, stats, cancellationToken);
        }
        finally
        {
            sessions.Return(session);
        }

        var pull = new List<byte[]>();
        var push = new List<byte[]>();
        foreach (var (leaf, peerKeys) in theirs)
        {
            var local = new Dictionary<byte[], ValueVersion>(KeyComparer.Instance);
            foreach (var (key, version) in mine[leaf])
            {
                local[key] = version;
            }

            foreach (var (key, version) in peerKeys)
            {
                if (!local.Remove(key, out var held) || version > held)
                {
                    pull.Add(key);
                }
                else if (held > version)
                {
                    push.Add(key);
                }
            }

            push.AddRange(local.Keys);
        }

        for (var i = 0; i < pull.Count; i += KeyBatch)
        {
            await PullAsync(pull, i, Math.Min(KeyBatch, pull.Count - i), cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < push.Count;)
        {
            i = await PushAsync(push, i, cancellationToken).ConfigureAwait(false);
        }
    }

    private Dictionary<int, List<KeyDigest>> ParseDigests(byte[] reply)
    {
        var leafCount = Forest.Partitions * MerkleForest.LeavesPerPartition;
        var result = new Dictionary<int, List<KeyDigest>>();
        var reader = new WireReader(reply);
        for (var n = reader.Count(8); n > 0; n--)
        {
            var leaf = WireReader.Below(reader.U32(), leafCount, "leaf");
            var keys = new List<KeyDigest>();
            for (var k = reader.Count(16); k > 0; k--)
            {
                var key = reader.Sized().ToArray();
                keys.Add(new KeyDigest(key, new ValueVersion(reader.I64(), reader.I32())));
            }

            result[leaf] = keys;
        }

        reader.ExpectEnd();
        return result;
    }

    private async Task PullAsync(List<byte[]> keys, int start, int count, CancellationToken cancellationToken)
    {
        _request.Clear();
        _request.U32((uint)count);
        for (var i = start; i < start + count; i++)
        {
            _request.Sized(keys[i]);
        }

        var reply = await CallAsync(FrameType.AePull, FrameType.AePulled, cancellationToken).ConfigureAwait(false);
        await PaceAsync(MergePulled(reply), cancellationToken).ConfigureAwait(false);
    }

    private int MergePulled(byte[] reply)
    {
        var session = sessions.Rent();
        try
        {
            var reader = new WireReader(reply);
            var n = reader.Count(8 + StoredValue.HeaderSize);
            stats.Received(n); // Counted before they are applied, so whoever sees them applied sees them counted.
            for (var i = 0; i < n; i++)
            {
                var key = reader.Sized();
                var stored = reader.Sized();
                if (!StoredValue.IsWellFormed(stored))
                {
                    throw new InvalidDataException("anti-entropy pull returned a value shorter than its header");
                }

                session.Merge(key, stored);
            }

            return n;
        }
        finally
        {
            sessions.Return(session);
        }
    }

    /// <summary>Pushes values from <paramref name="start"/> up to the batch's size budget; returns where the next batch starts.</summary>
    private async Task<int> PushAsync(List<byte[]> keys, int start, CancellationToken cancellationToken)
    {
        _request.Clear();
        var at = _request.ReserveCount();
        var sent = 0;
        var next = start;
        var session = sessions.Rent();
        try
        {
            for (; next < keys.Count && sent < KeyBatch && _request.Length < PushBudget; next++)
            {
                if (session.TryReadStored(keys[next], out var stored))
                {
                    _request.Sized(keys[next]);
                    _request.Sized(stored);
                    sent++;
                }
            }
        }
        finally
        {
            sessions.Return(session);
        }

        _request.PatchCount(at, sent);
        if (sent > 0)
        {
            stats.Sent(sent);
            await CallAsync(FrameType.AePush, FrameType.AePushed, cancellationToken).ConfigureAwait(false);
            await PaceAsync(sent, cancellationToken).ConfigureAwait(false);
        }

        return next;
    }

    /// <summary>Waits as long as needed to keep values transferred at or under the rate limit.</summary>
    private async Task PaceAsync(int keys, CancellationToken cancellationToken)
    {
        _transferred += keys;
        var due = TimeSpan.FromSeconds((double)_transferred / keysPerSecond) - time.GetElapsedTime(_started);
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<byte[]> CallAsync(FrameType type, FrameType expected, CancellationToken cancellationToken) =>
        await CallAsync(type, expected, expected, cancellationToken).ConfigureAwait(false) ?? [];

    /// <summary>Sends the request and returns the reply's payload, or null when the reply is <paramref name="declined"/>.</summary>
    private async Task<byte[]?> CallAsync(FrameType type, FrameType expected, FrameType declined, CancellationToken cancellationToken)
    {
        stats.Frame(_request.Length);
        // Replies complete on the peer connection's receive loop; what follows here (a log scan,
        // merges) must not run there and hold up the replication replies behind it.
        var reply = await peer.CallAsync(type, -1, _request.Written, default, default, requestTimeout).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        stats.Frame(reply.Payload.Length);
        return reply.Type == expected ? reply.Payload
            : reply.Type == declined ? null
            : throw new IOException($"peer {peer.Name} answered {type} with {reply.Type}: " + System.Text.Encoding.UTF8.GetString(reply.Payload));
    }
}

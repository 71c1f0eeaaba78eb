using DataPlane.Store.Cluster;
using DataPlane.Store.Replica;
using Microsoft.Extensions.ObjectPool;

namespace DataPlane.Store.Coordination;

/// <summary>
/// Runs a client's request on any node: the key's preference list is the first N distinct nodes of
/// its partition. Writes go to all N in parallel (this node's replica in-process) and succeed after W
/// acknowledgements; a replica that is down gets a durable hint instead (sloppy quorum). Reads ask
/// R healthy replicas (more only on a failure, a slow replica or a disagreement), answer with the
/// newest, and repair stale replicas (see <see cref="ReadOperation"/>). Read-modify-write commands run at the key's first healthy replica.
/// </summary>
internal sealed partial class Coordinator
{
    /// <summary>
    /// Operations kept for reuse: enough for every request a busy node has in flight (50 clients
    /// pipelining 16 each is 800), and for the writes a lagging replica still owes an answer (up to its
    /// in-flight limit, 4096 by default, and those waiting for a slot), without a new write and its
    /// buffers per request: with 4096, a replica descheduled for 50 ms made the pool churn.
    /// </summary>
    private const int PooledOperations = 16_384;

    private readonly ClusterNode node;
    private readonly LocalExecutor executor;
    private readonly DefaultObjectPool<ReadOperation> _reads;
    private readonly DefaultObjectPool<QuorumWrite> _writes;

    public Coordinator(ClusterNode node, LocalExecutor executor)
    {
        this.node = node;
        this.executor = executor;
        _reads = new DefaultObjectPool<ReadOperation>(new OperationPolicy<ReadOperation>(() => new ReadOperation(node, r => _reads!.Return(r))), PooledOperations);
        _writes = new DefaultObjectPool<QuorumWrite>(new OperationPolicy<QuorumWrite>(() => new QuorumWrite(node, w => _writes!.Return(w))), PooledOperations);
    }

    private ClusterOptions Options => node.Options;

    /// <summary>A new stored value (header and payload) versioned by this node's clock.</summary>
    public byte[] NewStored(ReadOnlySpan<byte> payload, bool tombstone, long expiresAtMs)
    {
        var stored = new byte[StoredValue.HeaderSize + payload.Length];
        StoredValue.WriteHeader(stored, new ValueVersion(node.Replica.Clock.Next(), node.Replica.Settings.NodeId), tombstone, expiresAtMs);
        payload.CopyTo(stored.AsSpan(StoredValue.HeaderSize));
        return stored;
    }

    /// <summary>SET key value: a quorum write whose <see cref="QuorumWrite.AsReply"/> is its RESP reply, with nothing allocated on the way (see <see cref="QuorumWrite"/>).</summary>
    public QuorumWrite StartSet(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload)
    {
        var quorum = _writes.Get();
        quorum.Prepare(key, payload, tombstone: false, 0);
        StartWrite(quorum, appliedHere: false);
        return quorum;
    }

    /// <summary>Writes a stored value to the key's replicas; null once W acknowledged, else the error reply's text.</summary>
    public ValueTask<string?> WriteAsync(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, bool appliedHere = false)
    {
        // Every request to a peer fails at the request timeout, so the quorum is decided by then.
        var quorum = _writes.Get();
        quorum.Prepare(key, stored);
        StartWrite(quorum, appliedHere);
        return quorum.AsError();
    }

    private void StartWrite(QuorumWrite quorum, bool appliedHere)
    {
        var key = quorum.Key;
        var stored = quorum.Stored;
        var view = node.View;
        var placement = view.Current;
        var keyHash = Ring.RingHash.Hash(key);
        var partition = placement.PartitionOf(keyHash);
        var order = placement.OrderOf(partition);
        var substitute = placement.Replicas;
        var replicas = order[..placement.Replicas];

        // W counts distinct nodes: a replica of the key that also keeps hints for the missing ones is
        // still one acknowledgement. Counting its hints too let one node alone acknowledge a W=2 write
        // while its peers were still connecting, and a read through another node then saw nil.
        var selfCounted = replicas.Contains(node.Self);
        var localAcks = 0;
        var localSequence = 0L;
        var unsent = 0;
        long? now = null;
        quorum.Reserve(replicas.Length);
        foreach (var target in replicas)
        {
            if (target == node.Self)
            {
                unsent++;
                if (appliedHere)
                {
                    // The local executor's reply came once its log held the write.
                    localAcks++;
                }
                else if (TryMergeHere(key, stored, keyHash))
                {
                    localAcks++;
                    localSequence = node.Replica.Wal.Appended;
                }

                continue;
            }

            if (node.IsHealthy(target))
            {
                now ??= node.Time.GetTimestamp();
                quorum.Send(target, now.Value);
                continue;
            }

            // Sloppy quorum: the next healthy node clockwise outside the preference list keeps a hint.
            while (substitute < order.Length && !node.IsHealthy(order[substitute]))
            {
                substitute++;
            }

            var holder = substitute < order.Length ? order[substitute++] : node.Self;
            if (holder == node.Self)
            {
                if (selfCounted)
                {
                    // This node counts once: the hint is kept without the write waiting for its fsync.
                    unsent++;
                    node.Hints.Keep(placement.Nodes[target], key, stored);
                    continue;
                }

                // A hint the disk refused keeps nothing for the replica: it is no acknowledgement. Under fsync
                // always it is one only once its group commit is done: its reserved request stays open until then.
                selfCounted = true;
                var kept = node.Hints.AddAsync(placement.Nodes[target], key, stored);
                if (!kept.IsCompletedSuccessfully)
                {
                    _ = SettleHintAsync(quorum, kept);
                    continue;
                }

                unsent++;
                if (kept.Result)
                {
                    localAcks++;
                }
                else
                {
                    selfCounted = false;
                }
            }
            else
            {
                now ??= node.Time.GetTimestamp();
                quorum.SendHint(holder, target, now.Value);
            }
        }

        StartExtraWrites(view, partition, replicas, key, stored);
        quorum.Sealed(localAcks, localSequence, unsent);
    }

    private bool TryMergeHere(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored) => TryMergeHere(key, stored, Ring.RingHash.Hash(key));

    /// <summary>Merges into the local replica with the key's hash the placement took; false when the local log refused it.</summary>
    private bool TryMergeHere(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, ulong keyHash)
    {
        try
        {
            node.Sessions.Merge(key, stored, keyHash);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>A hint this node keeps, counted once its group commit says it is durable (off the event loop: the commit's thread hands it to the pool).</summary>
    private async Task SettleHintAsync(QuorumWrite quorum, ValueTask<bool> kept)
    {
        bool durable;
        try
        {
            // A hung disk must not hold the client's write past the request timeout, as a peer's answer cannot.
            durable = await kept.AsTask().WaitAsync(Options.RequestTimeout, node.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            durable = false;
        }

        if (durable)
        {
            quorum.Ack();
        }
        else
        {
            quorum.Fail();
        }
    }
}

using System.Buffers.Binary;
using DataPlane.Store.Cluster;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Coordination;

/// <summary>
/// Runs a client's request on any node: the key's preference list is the first N distinct nodes of
/// its partition. Writes go to all N in parallel (this node's replica in-process) and succeed after W
/// acknowledgements; a replica that is down gets a durable hint instead (sloppy quorum). Reads ask
/// the healthy replicas, answer with the newest of the first R answers, and repair stale replicas once
/// all have answered. Read-modify-write commands run at the key's first healthy replica.
/// </summary>
internal sealed partial class Coordinator(ClusterNode node, LocalExecutor executor)
{
    private ClusterOptions Options => node.Options;

    /// <summary>A new stored value (header and payload) versioned by this node's clock.</summary>
    public byte[] NewStored(ReadOnlySpan<byte> payload, bool tombstone, long expiresAtMs)
    {
        var stored = new byte[StoredValue.HeaderSize + payload.Length];
        StoredValue.WriteHeader(stored, new ValueVersion(node.Replica.Clock.Next(), node.Replica.Settings.NodeId), tombstone, expiresAtMs);
        payload.CopyTo(stored.AsSpan(StoredValue.HeaderSize));
        return stored;
    }

    /// <summary>Writes a stored value to the key's replicas; null once W acknowledged, else the error reply's text.</summary>
    public async Task<string?> WriteAsync(byte[] key, byte[] stored, bool appliedHere = false)
    {
        // Every request to a peer fails at the request timeout, so the quorum is decided by then.
        var quorum = new QuorumWrite(Options.WriteQuorum);
        StartWrite(quorum, key, stored, appliedHere);
        await quorum.Done.ConfigureAwait(false);
        var acks = quorum.Acks;
        return acks >= quorum.Needed ? null : $"ERR quorum not reached: {acks} of {quorum.Needed} replicas acknowledged";
    }

    private void StartWrite(QuorumWrite quorum, byte[] key, byte[] stored, bool appliedHere)
    {
        var view = node.View;
        var placement = view.Current;
        var partition = placement.PartitionOf(key);
        var order = placement.OrderOf(partition);
        var substitute = placement.Replicas;
        var selfCounted = false;
        foreach (var target in order[..placement.Replicas])
        {
            if (target == node.Self)
            {
                selfCounted = true;
                if (appliedHere || TryMergeHere(key, stored))
                {
                    quorum.Ack(expected: false);
                }

                continue;
            }

            if (node.IsHealthy(target))
            {
                quorum.Expect();
                _ = SendWriteAsync(quorum, target, key, stored);
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
                node.Hints.Add(placement.Nodes[target], key, stored);
                if (!selfCounted)
                {
                    selfCounted = true;
                    quorum.Ack(expected: false);
                }
            }
            else
            {
                quorum.Expect();
                _ = SendHintAsync(quorum, holder, target, key, stored);
            }
        }

        StartExtraWrites(view, partition, order[..placement.Replicas], key, stored);
        quorum.Sealed();
    }

    private bool TryMergeHere(byte[] key, byte[] stored)
    {
        try
        {
            node.Sessions.Merge(key, stored);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private async Task SendWriteAsync(QuorumWrite quorum, int target, byte[] key, byte[] stored)
    {
        if (await TryWriteToAsync(target, key, stored).ConfigureAwait(false))
        {
            quorum.Ack(expected: true);
            return;
        }

        // The replica did not confirm: keep the write for it here, to hand off when it answers again.
        node.Hints.Add(node.Placement.Nodes[target], key, stored);
        quorum.Fail(expected: true);
    }

    private async Task SendHintAsync(QuorumWrite quorum, int holder, int target, byte[] key, byte[] stored)
    {
        var name = System.Text.Encoding.ASCII.GetBytes(node.Placement.Nodes[target]);
        var head = new byte[1 + name.Length + 4];
        head[0] = (byte)name.Length;
        name.CopyTo(head, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(1 + name.Length), (uint)key.Length);
        try
        {
            var reply = await node.Peer(holder)!.Client.CallAsync(FrameType.Hint, -1, head, key, stored, Options.RequestTimeout).ConfigureAwait(false);
            if (reply.Type == FrameType.Ack)
            {
                quorum.Ack(expected: true);
                return;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Falls through: the hint stays here instead.
        }

        node.Hints.Add(node.Placement.Nodes[target], key, stored);
        quorum.Fail(expected: true);
    }

    /// <summary>Sends one replica a write; true when it confirmed (applied, or already had something newer).</summary>
    private async Task<bool> TryWriteToAsync(int target, byte[] key, byte[] stored)
    {
        try
        {
            var reply = await node.Peer(target)!.Client.CallAsync(FrameType.Write, key.Length, key, stored, default, Options.RequestTimeout).ConfigureAwait(false);
            return reply.Type == FrameType.Ack;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return false;
        }
    }
}

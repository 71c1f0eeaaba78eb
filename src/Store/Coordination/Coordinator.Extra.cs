using DataPlane.Store.Membership;
using DataPlane.Store.Protocol.Internode;

namespace DataPlane.Store.Coordination;

internal sealed partial class Coordinator
{
    /// <summary>
    /// While rebalancing, a write also goes to the partition's new owners, and after the switch to its
    /// old ones until every peer has seen it; they do not count for the quorum. One that does not
    /// confirm gets a hint, so a receiver that was away still gets the write.
    /// </summary>
    private void StartExtraWrites(ClusterView view, int partition, ReadOnlySpan<int> counted, ReadOnlySpan<byte> keySpan, ReadOnlySpan<byte> storedSpan)
    {
        if (view.Extra is not { } extra)
        {
            return;
        }

        // Only while a rebalance runs: the copies outlive the pooled quorum write.
        var key = keySpan.ToArray();
        var stored = storedSpan.ToArray();

        foreach (var target in extra.PreferenceList(partition))
        {
            if (counted.Contains(target))
            {
                continue;
            }

            if (target == node.Self)
            {
                TryMergeHere(key, stored);
            }
            else
            {
                _ = SendExtraAsync(target, key, stored);
            }
        }
    }

    private async Task SendExtraAsync(int target, byte[] key, byte[] stored)
    {
        if (!node.IsHealthy(target) || !await TryWriteToAsync(target, key, stored).ConfigureAwait(false))
        {
            // Refused by the disk: anti-entropy brings the replica the key instead.
            node.Hints.Keep(node.View.Current.Nodes[target], key, stored);
        }
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

using DataPlane.Store.Membership;

namespace DataPlane.Store.Coordination;

internal sealed partial class Coordinator
{
    /// <summary>
    /// While rebalancing, a write also goes to the partition's new owners, and after the switch to its
    /// old ones until every peer has seen it; they do not count for the quorum. One that does not
    /// confirm gets a hint, so a receiver that was away still gets the write.
    /// </summary>
    private void StartExtraWrites(ClusterView view, int partition, ReadOnlySpan<int> counted, byte[] key, byte[] stored)
    {
        if (view.Extra is not { } extra)
        {
            return;
        }

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
            node.Hints.Add(node.View.Current.Nodes[target], key, stored);
        }
    }
}

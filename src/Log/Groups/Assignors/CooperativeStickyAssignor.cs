namespace DataPlane.Log.Groups.Assignors;

/// <summary>
/// Kafka's <c>cooperative-sticky</c> (KIP-429): a balanced assignment that keeps every member's owned partitions
/// where balance allows. A partition that must leave its owner is assigned to nobody in this round: the owner revokes
/// it, rejoins, and the follow-up rebalance gives it to its new owner. So no partition is ever owned by two members,
/// and a member whose partitions need not move keeps consuming them through the rebalance.
/// </summary>
internal sealed class CooperativeStickyAssignor : IPartitionAssignor
{
    public string Name => "cooperative-sticky";

    public Dictionary<string, List<TopicPartition>> Assign(IReadOnlyList<AssignorMember> members, Func<string, int> partitionCount)
    {
        var result = Assignors.Empty(members);
        if (members.Count == 0)
        {
            return result;
        }

        var all = new List<TopicPartition>();
        var subscribers = Assignors.Subscribers(members);
        foreach (var topic in subscribers.Keys)
        {
            var n = partitionCount(topic);
            for (var p = 0; p < n; p++)
            {
                all.Add(new TopicPartition(topic, p));
            }
        }

        var exists = new HashSet<TopicPartition>(all);
        var min = all.Count / members.Count;
        var extraSlots = all.Count % members.Count;
        var claimed = new HashSet<TopicPartition>();
        var revoking = new HashSet<TopicPartition>();

        // Members owning the most keep first, so the few extra slots go to those that would otherwise give one up.
        var byOwned = new List<AssignorMember>(members);
        byOwned.Sort(static (a, b) => a.Owned.Count != b.Owned.Count ? b.Owned.Count.CompareTo(a.Owned.Count) : string.CompareOrdinal(a.SortKey, b.SortKey));
        foreach (var member in byOwned)
        {
            var kept = result[member.MemberId];
            var owned = new List<TopicPartition>(member.Owned);
            owned.Sort();
            foreach (var tp in owned)
            {
                if (!exists.Contains(tp) || !member.Topics.Contains(tp.Topic) || claimed.Contains(tp))
                {
                    continue;
                }

                var cap = extraSlots > 0 ? min + 1 : min;
                if (kept.Count < cap)
                {
                    kept.Add(tp);
                    claimed.Add(tp);
                }
                else
                {
                    revoking.Add(tp);
                }
            }

            if (kept.Count > min)
            {
                extraSlots--;
            }
        }

        foreach (var tp in all)
        {
            if (claimed.Contains(tp) || revoking.Contains(tp))
            {
                continue;
            }

            AssignorMember? target = null;
            foreach (var candidate in subscribers[tp.Topic])
            {
                if (target is null || result[candidate.MemberId].Count < result[target.MemberId].Count)
                {
                    target = candidate;
                }
            }

            result[target!.MemberId].Add(tp);
        }

        foreach (var list in result.Values)
        {
            list.Sort();
        }

        return result;
    }
}

namespace DataPlane.Log.Groups.Assignors;

/// <summary>The built-in assignors by protocol name.</summary>
internal static class Assignors
{
    public static readonly IPartitionAssignor Range = new RangeAssignor();
    public static readonly IPartitionAssignor RoundRobin = new RoundRobinAssignor();
    public static readonly IPartitionAssignor CooperativeSticky = new CooperativeStickyAssignor();

    public static IPartitionAssignor? Find(string name) => name switch
    {
        "range" => Range,
        "roundrobin" => RoundRobin,
        "cooperative-sticky" => CooperativeSticky,
        _ => null,
    };

    /// <summary>Every topic some member subscribes to, sorted, with the members subscribing to it.</summary>
    public static SortedDictionary<string, List<AssignorMember>> Subscribers(IReadOnlyList<AssignorMember> members)
    {
        var byTopic = new SortedDictionary<string, List<AssignorMember>>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            foreach (var topic in member.Topics)
            {
                if (!byTopic.TryGetValue(topic, out var list))
                {
                    byTopic[topic] = list = [];
                }

                if (!list.Contains(member))
                {
                    list.Add(member);
                }
            }
        }

        return byTopic;
    }

    public static Dictionary<string, List<TopicPartition>> Empty(IReadOnlyList<AssignorMember> members)
    {
        var result = new Dictionary<string, List<TopicPartition>>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            result[member.MemberId] = [];
        }

        return result;
    }
}

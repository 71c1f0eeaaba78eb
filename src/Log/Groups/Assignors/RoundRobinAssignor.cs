namespace DataPlane.Log.Groups.Assignors;

/// <summary>Kafka's <c>roundrobin</c>: every partition, sorted by topic and number, dealt in turn to the members subscribing to its topic.</summary>
internal sealed class RoundRobinAssignor : IPartitionAssignor
{
    public string Name => "roundrobin";

    public Dictionary<string, List<TopicPartition>> Assign(IReadOnlyList<AssignorMember> members, Func<string, int> partitionCount)
    {
        var result = Assignors.Empty(members);
        if (members.Count == 0)
        {
            return result;
        }

        var next = 0;
        foreach (var (topic, subscribers) in Assignors.Subscribers(members))
        {
            var n = partitionCount(topic);
            for (var p = 0; p < n; p++)
            {
                while (!subscribers.Contains(members[next % members.Count]))
                {
                    next++;
                }

                result[members[next % members.Count].MemberId].Add(new TopicPartition(topic, p));
                next++;
            }
        }

        return result;
    }
}

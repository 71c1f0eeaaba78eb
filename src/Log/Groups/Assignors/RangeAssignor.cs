namespace DataPlane.Log.Groups.Assignors;

/// <summary>Kafka's <c>range</c>: per topic, the sorted subscribers get contiguous ranges, the first ones one extra.</summary>
internal sealed class RangeAssignor : IPartitionAssignor
{
    public string Name => "range";

    public Dictionary<string, List<TopicPartition>> Assign(IReadOnlyList<AssignorMember> members, Func<string, int> partitionCount)
    {
        var result = Assignors.Empty(members);
        foreach (var (topic, subscribers) in Assignors.Subscribers(members))
        {
            var n = partitionCount(topic);
            var per = n / subscribers.Count;
            var extra = n % subscribers.Count;
            for (var i = 0; i < subscribers.Count; i++)
            {
                var start = (per * i) + Math.Min(i, extra);
                var length = per + (i < extra ? 1 : 0);
                for (var p = start; p < start + length; p++)
                {
                    result[subscribers[i].MemberId].Add(new TopicPartition(topic, p));
                }
            }
        }

        return result;
    }
}

namespace DataPlane.Log.Groups.Assignors;

/// <summary>A built-in assignment strategy, run by the coordinator for embedded consumers (or by a leader).</summary>
internal interface IPartitionAssignor
{
    /// <summary>The protocol name members list in JoinGroup (Kafka's names).</summary>
    string Name { get; }

    /// <summary>Assigns partitions to members, sorted by <see cref="AssignorMember.SortKey"/>.</summary>
    /// <param name="members">The members, sorted.</param>
    /// <param name="partitionCount">A topic's partition count, 0 for a topic the log does not have.</param>
    /// <returns>Every member's partitions (a member may get none).</returns>
    Dictionary<string, List<TopicPartition>> Assign(IReadOnlyList<AssignorMember> members, Func<string, int> partitionCount);
}

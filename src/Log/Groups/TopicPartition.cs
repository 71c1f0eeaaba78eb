namespace DataPlane.Log.Groups;

/// <summary>A partition of a topic.</summary>
/// <param name="Topic">The topic's name.</param>
/// <param name="Partition">The partition's number.</param>
public readonly record struct TopicPartition(string Topic, int Partition) : IComparable<TopicPartition>
{
    /// <summary>Orders by topic (ordinal), then partition.</summary>
    /// <param name="other">The partition to compare with.</param>
    public int CompareTo(TopicPartition other)
    {
        var byTopic = string.CompareOrdinal(Topic, other.Topic);
        return byTopic != 0 ? byTopic : Partition.CompareTo(other.Partition);
    }

    /// <summary>Orders as <see cref="CompareTo"/>.</summary>
    public static bool operator <(TopicPartition left, TopicPartition right) => left.CompareTo(right) < 0;

    /// <summary>Orders as <see cref="CompareTo"/>.</summary>
    public static bool operator <=(TopicPartition left, TopicPartition right) => left.CompareTo(right) <= 0;

    /// <summary>Orders as <see cref="CompareTo"/>.</summary>
    public static bool operator >(TopicPartition left, TopicPartition right) => left.CompareTo(right) > 0;

    /// <summary>Orders as <see cref="CompareTo"/>.</summary>
    public static bool operator >=(TopicPartition left, TopicPartition right) => left.CompareTo(right) >= 0;

    /// <summary><c>topic-partition</c>, as Kafka prints it.</summary>
    public override string ToString() => Topic + "-" + Partition.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

namespace DataPlane.Store.Replica;

/// <summary>
/// A value's version: a hybrid logical clock timestamp and the id of the node that wrote it. The newer
/// version wins (last writer wins); the node id breaks ties between equal timestamps.
/// </summary>
internal readonly record struct ValueVersion(long Timestamp, int NodeId) : IComparable<ValueVersion>
{
    public int CompareTo(ValueVersion other) =>
        Timestamp != other.Timestamp ? Timestamp.CompareTo(other.Timestamp) : NodeId.CompareTo(other.NodeId);

    public static bool operator <(ValueVersion left, ValueVersion right) => left.CompareTo(right) < 0;

    public static bool operator >(ValueVersion left, ValueVersion right) => left.CompareTo(right) > 0;

    public static bool operator <=(ValueVersion left, ValueVersion right) => left.CompareTo(right) <= 0;

    public static bool operator >=(ValueVersion left, ValueVersion right) => left.CompareTo(right) >= 0;
}

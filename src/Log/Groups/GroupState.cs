namespace DataPlane.Log.Groups;

/// <summary>The states of a Kafka consumer group (the classic rebalance protocol).</summary>
public enum GroupState
{
    /// <summary>No members; committed offsets may remain.</summary>
    Empty,

    /// <summary>A rebalance started: the coordinator waits for every member to (re)join.</summary>
    PreparingRebalance,

    /// <summary>Every member joined; the coordinator waits for the leader's assignment (SyncGroup).</summary>
    CompletingRebalance,

    /// <summary>Every member has its assignment; members heartbeat.</summary>
    Stable,

    /// <summary>The coordinator stopped.</summary>
    Dead,
}

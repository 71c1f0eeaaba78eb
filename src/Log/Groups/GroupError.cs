namespace DataPlane.Log.Groups;

/// <summary>
/// The outcome of a group or offset operation. Values are Kafka's protocol error codes, so a broker can put them
/// in a JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit or OffsetFetch response as they are.
/// </summary>
public enum GroupError : short
{
    /// <summary>Success.</summary>
    None = 0,

    /// <summary>No such topic, or no such partition in it (an offset commit for a partition the log does not have).</summary>
    UnknownTopicOrPartition = 3,

    /// <summary>The commit's metadata is longer than <see cref="GroupCoordinatorOptions.MaxMetadataBytes"/> (Kafka's <c>offset.metadata.max.bytes</c>).</summary>
    OffsetMetadataTooLarge = 12,

    /// <summary>The coordinator is stopping or stopped.</summary>
    CoordinatorNotAvailable = 15,

    /// <summary>The request's generation is not the group's current one: the member missed a rebalance.</summary>
    IllegalGeneration = 22,

    /// <summary>The member's protocol type differs from the group's, or it shares no protocol with the other members.</summary>
    InconsistentGroupProtocol = 23,

    /// <summary>The group id is empty.</summary>
    InvalidGroupId = 24,

    /// <summary>The member id is not (or no longer) a member of the group: it left, or its session expired.</summary>
    UnknownMemberId = 25,

    /// <summary>The session timeout is outside the coordinator's bounds.</summary>
    InvalidSessionTimeout = 26,

    /// <summary>The group is rebalancing: the member must rejoin.</summary>
    RebalanceInProgress = 27,

    /// <summary>Writing the commit to the log failed; nothing of it was applied.</summary>
    StorageError = 56,

    /// <summary>
    /// JoinGroup v4 and later (<see cref="JoinGroupRequest.RequireKnownMemberId"/>): the member must join again with the
    /// member id this response carries (KIP-394), so that a client that never comes back leaves no member behind.
    /// </summary>
    MemberIdRequired = 79,

    /// <summary>Another instance with the same <c>group.instance.id</c> has taken this member's place.</summary>
    FencedInstanceId = 82,
}

namespace DataPlane.Log.Groups.Assignors;

/// <summary>A member as an assignor sees it: decoded from its ConsumerProtocolSubscription.</summary>
/// <param name="MemberId">The member's id.</param>
/// <param name="SortKey">Its <c>group.instance.id</c> if static, else its member id: static members keep their order across restarts.</param>
/// <param name="Topics">The topics it subscribes to.</param>
/// <param name="Owned">The partitions it consumes now.</param>
internal sealed record AssignorMember(string MemberId, string SortKey, IReadOnlyList<string> Topics, IReadOnlyList<TopicPartition> Owned);

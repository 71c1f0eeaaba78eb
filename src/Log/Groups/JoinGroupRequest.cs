namespace DataPlane.Log.Groups;

/// <summary>A JoinGroup request, field for field as Kafka's.</summary>
public sealed record JoinGroupRequest
{
    /// <summary>The group's id.</summary>
    public required string GroupId { get; init; }

    /// <summary>The member id from an earlier join, or empty for a new member (the coordinator gives one).</summary>
    public string MemberId { get; init; } = string.Empty;

    /// <summary><c>group.instance.id</c> of a static member, or <see langword="null"/> for a dynamic one.</summary>
    public string? GroupInstanceId { get; init; }

    /// <summary>A prefix for the member ids the coordinator gives (Kafka's <c>client.id</c>).</summary>
    public string ClientId { get; init; } = "member";

    /// <summary>
    /// <c>consumer</c> for Kafka clients (the leader assigns, the coordinator relays), or
    /// <see cref="GroupCoordinator.EmbeddedProtocolType"/> for members that let the coordinator assign with a built-in assignor.
    /// </summary>
    public required string ProtocolType { get; init; }

    /// <summary>The protocols the member supports, most preferred first.</summary>
    public required IReadOnlyList<GroupProtocol> Protocols { get; init; }

    /// <summary>
    /// Kafka's JoinGroup v4+ behaviour: a new dynamic member first gets <see cref="GroupError.MemberIdRequired"/> with
    /// its member id and must join again with it; the id is kept for one session timeout.
    /// </summary>
    public bool RequireKnownMemberId { get; init; }

    /// <summary>How long the coordinator waits for a heartbeat before it removes the member.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>How long a rebalance waits for the member to rejoin before it goes on without it.</summary>
    public TimeSpan RebalanceTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

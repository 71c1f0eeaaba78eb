namespace DataPlane.Log.Groups;

/// <summary>A snapshot of a group (Kafka's DescribeGroups).</summary>
/// <param name="GroupId">The group.</param>
/// <param name="State">Its state.</param>
/// <param name="GenerationId">Its generation.</param>
/// <param name="ProtocolType">The members' protocol type.</param>
/// <param name="ProtocolName">The chosen protocol.</param>
/// <param name="LeaderId">The leader's member id.</param>
/// <param name="Members">Each member with its current assignment bytes.</param>
public sealed record GroupDescription(
    string GroupId, GroupState State, int GenerationId, string? ProtocolType, string? ProtocolName, string LeaderId,
    IReadOnlyList<MemberAssignment> Members);

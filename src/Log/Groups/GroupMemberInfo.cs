namespace DataPlane.Log.Groups;

/// <summary>A member as the group leader sees it in a JoinGroup response.</summary>
/// <param name="MemberId">The member's id.</param>
/// <param name="GroupInstanceId">Its <c>group.instance.id</c>, if static.</param>
/// <param name="Metadata">Its metadata for the chosen protocol.</param>
public sealed record GroupMemberInfo(string MemberId, string? GroupInstanceId, ReadOnlyMemory<byte> Metadata);

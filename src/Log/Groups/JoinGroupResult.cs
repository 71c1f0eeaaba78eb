namespace DataPlane.Log.Groups;

/// <summary>A JoinGroup response.</summary>
/// <param name="Error"><see cref="GroupError.None"/>, or why the member did not join.</param>
/// <param name="GenerationId">The generation the member joined, -1 on error.</param>
/// <param name="ProtocolName">The protocol the coordinator chose.</param>
/// <param name="LeaderId">The member id of the leader.</param>
/// <param name="MemberId">This member's id (keep it for the next requests).</param>
/// <param name="Members">Every member with its metadata, for the leader only; empty for followers.</param>
public sealed record JoinGroupResult(
    GroupError Error, int GenerationId, string? ProtocolName, string LeaderId, string MemberId, IReadOnlyList<GroupMemberInfo> Members)
{
    internal static JoinGroupResult Failed(GroupError error, string memberId = "") => new(error, -1, null, string.Empty, memberId, []);
}

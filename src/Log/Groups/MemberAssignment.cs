namespace DataPlane.Log.Groups;

/// <summary>The leader's assignment for one member, relayed as bytes.</summary>
/// <param name="MemberId">The member.</param>
/// <param name="Assignment">Its assignment (a Kafka ConsumerProtocolAssignment for consumers).</param>
public sealed record MemberAssignment(string MemberId, ReadOnlyMemory<byte> Assignment);

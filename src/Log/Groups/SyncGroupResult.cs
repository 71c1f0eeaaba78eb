namespace DataPlane.Log.Groups;

/// <summary>A SyncGroup response.</summary>
/// <param name="Error"><see cref="GroupError.None"/>, or why there is no assignment.</param>
/// <param name="Assignment">The member's assignment bytes, as the leader (or the built-in assignor) produced them.</param>
public sealed record SyncGroupResult(GroupError Error, ReadOnlyMemory<byte> Assignment);

namespace DataPlane.Log.Offsets;

/// <summary>A group's committed position in a partition.</summary>
/// <param name="Offset">The next offset the group will read.</param>
/// <param name="Metadata">What the committer stored with the offset (a checkpoint), empty when none.</param>
/// <param name="CommitTimestamp">When the commit was written, milliseconds since the Unix epoch.</param>
public readonly record struct CommittedOffset(long Offset, string Metadata, long CommitTimestamp);

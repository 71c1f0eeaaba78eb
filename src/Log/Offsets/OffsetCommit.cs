using DataPlane.Log.Groups;

namespace DataPlane.Log.Offsets;

/// <summary>One partition's position to commit.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The next offset to read (the last processed record's offset plus one).</param>
/// <param name="Metadata">A checkpoint stored atomically with the offset, at most <see cref="GroupCoordinatorOptions.MaxMetadataBytes"/> bytes of UTF-8.</param>
public sealed record OffsetCommit(TopicPartition Partition, long Offset, string? Metadata = null);

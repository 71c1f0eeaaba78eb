using DataPlane.Log.Groups;
using DataPlane.Log.Records;

namespace DataPlane.Log.Consumer;

/// <summary>A consumed record; its bytes are the consumer's own copy.</summary>
/// <param name="Partition">Where it came from.</param>
/// <param name="Offset">Its offset; commit <c>Offset + 1</c> once it is processed.</param>
/// <param name="Timestamp">Milliseconds since the Unix epoch.</param>
/// <param name="Key">The key, or null.</param>
/// <param name="Value">The value, or null for a tombstone.</param>
/// <param name="Headers">The headers.</param>
public sealed record ConsumeResult(
    TopicPartition Partition, long Offset, long Timestamp, ReadOnlyMemory<byte>? Key, ReadOnlyMemory<byte>? Value, IReadOnlyList<LogHeader> Headers);

namespace DataPlane.Log;

/// <summary>A partition's bounds.</summary>
/// <param name="Error"><see cref="LogError.None"/> or <see cref="LogError.UnknownTopicOrPartition"/>.</param>
/// <param name="LogStartOffset">The first offset still in the log.</param>
/// <param name="HighWatermark">The offset the next append will get.</param>
public readonly record struct PartitionOffsets(LogError Error, long LogStartOffset, long HighWatermark);

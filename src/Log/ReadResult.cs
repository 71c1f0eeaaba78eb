namespace DataPlane.Log;

/// <summary>What a read found.</summary>
/// <param name="Error"><see cref="LogError.None"/>, <see cref="LogError.OffsetOutOfRange"/> or <see cref="LogError.UnknownTopicOrPartition"/>.</param>
/// <param name="HighWatermark">The offset the next append will get: reads stop before it.</param>
/// <param name="LogStartOffset">The first offset still in the log (retention moves it).</param>
/// <param name="Records">The batches' bytes in the segment file, empty at the end of the log.</param>
public readonly record struct ReadResult(LogError Error, long HighWatermark, long LogStartOffset, FileSlice Records);

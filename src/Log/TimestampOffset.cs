namespace DataPlane.Log;

/// <summary>The answer to "which offset is the first at or after this time".</summary>
/// <param name="Error"><see cref="LogError.None"/> or <see cref="LogError.UnknownTopicOrPartition"/>.</param>
/// <param name="Offset">The first record's offset whose timestamp is at or after the one asked; -1 if there is none.</param>
/// <param name="Timestamp">That record's timestamp; -1 if there is none.</param>
public readonly record struct TimestampOffset(LogError Error, long Offset, long Timestamp);

namespace DataPlane.Log.Records;

/// <summary>
/// One record decoded by <see cref="RecordBatchReader"/>. Key, value and header bytes point into the reader's
/// buffer: copy them before the reader moves past the record's batch if they must outlive it.
/// </summary>
/// <param name="Offset">The record's offset in its partition.</param>
/// <param name="Timestamp">Milliseconds since the Unix epoch (the producer's create time).</param>
/// <param name="Key">The key; <see langword="null"/> for a record without one.</param>
/// <param name="Value">The value; <see langword="null"/> for a tombstone.</param>
/// <param name="Headers">The record's headers, in order (empty when it has none).</param>
public readonly record struct LogRecord(
    long Offset, long Timestamp, ReadOnlyMemory<byte>? Key, ReadOnlyMemory<byte>? Value, IReadOnlyList<LogHeader> Headers);

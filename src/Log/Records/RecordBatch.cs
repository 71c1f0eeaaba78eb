using System.Buffers.Binary;

namespace DataPlane.Log.Records;

/// <summary>
/// Field offsets of Kafka's RecordBatch v2 header (61 bytes) and readers for them. All integers are big-endian.
/// </summary>
internal static class RecordBatch
{
    public const int BaseOffsetOffset = 0;
    public const int LengthOffset = 8;
    public const int PartitionLeaderEpochOffset = 12;
    public const int MagicOffset = 16;
    public const int CrcOffset = 17;
    public const int AttributesOffset = 21;
    public const int LastOffsetDeltaOffset = 23;
    public const int BaseTimestampOffset = 27;
    public const int MaxTimestampOffset = 35;
    public const int ProducerIdOffset = 43;
    public const int ProducerEpochOffset = 51;
    public const int BaseSequenceOffset = 53;
    public const int RecordsCountOffset = 57;
    public const int HeaderSize = 61;

    /// <summary><c>baseOffset</c> and <c>batchLength</c>: the part of the header outside <c>batchLength</c>'s count.</summary>
    public const int LogOverhead = 12;

    public const byte CurrentMagic = 2;

    public static long BaseOffset(ReadOnlySpan<byte> batch) => BinaryPrimitives.ReadInt64BigEndian(batch);

    /// <summary>The whole batch's size in bytes: <c>batchLength</c> plus the 12 bytes before it.</summary>
    public static int TotalSize(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt32BigEndian(batch[LengthOffset..]) + LogOverhead;

    public static int LastOffsetDelta(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt32BigEndian(batch[LastOffsetDeltaOffset..]);

    public static long LastOffset(ReadOnlySpan<byte> batch) => BaseOffset(batch) + LastOffsetDelta(batch);

    public static long BaseTimestamp(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt64BigEndian(batch[BaseTimestampOffset..]);

    public static long MaxTimestamp(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt64BigEndian(batch[MaxTimestampOffset..]);

    public static int RecordsCount(ReadOnlySpan<byte> batch) =>
        BinaryPrimitives.ReadInt32BigEndian(batch[RecordsCountOffset..]);

    public static CompressionCodec Codec(ReadOnlySpan<byte> batch) =>
        (CompressionCodec)(BinaryPrimitives.ReadInt16BigEndian(batch[AttributesOffset..]) & 0x7);

    /// <summary>
    /// Writes the broker-assigned fields. Kafka's CRC starts at <c>attributes</c>, so neither field needs a new CRC.
    /// </summary>
    public static void Stamp(Span<byte> batch, long baseOffset, int partitionLeaderEpoch)
    {
        BinaryPrimitives.WriteInt64BigEndian(batch, baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch[PartitionLeaderEpochOffset..], partitionLeaderEpoch);
    }
}

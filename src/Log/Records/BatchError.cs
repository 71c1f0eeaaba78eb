namespace DataPlane.Log.Records;

/// <summary>Why a record batch was rejected; <see cref="None"/> when it is whole.</summary>
public enum BatchError
{
    /// <summary>The batch is whole.</summary>
    None = 0,

    /// <summary>Fewer bytes than the 61-byte RecordBatch v2 header, or an empty append.</summary>
    TooShort,

    /// <summary>The <c>batchLength</c> field disagrees with the bytes that follow it.</summary>
    LengthMismatch,

    /// <summary>The <c>magic</c> byte is not 2: only RecordBatch v2 is accepted.</summary>
    UnsupportedMagic,

    /// <summary>The CRC-32C over <c>attributes</c>..end does not match the <c>crc</c> field.</summary>
    CrcMismatch,

    /// <summary>The <c>recordsCount</c> or <c>lastOffsetDelta</c> field disagrees with the records in the batch.</summary>
    RecordCountMismatch,

    /// <summary>A record inside an uncompressed batch is malformed (bad varint, length past the batch, offset delta out of order).</summary>
    MalformedRecord,

    /// <summary>The compression bits name no codec Kafka defines.</summary>
    UnknownCompression,

    /// <summary>The batch is larger than the topic's <c>max.message.bytes</c>.</summary>
    TooLarge,
}

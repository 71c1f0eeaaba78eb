namespace DataPlane.Log;

/// <summary>The outcome of a log operation. Values are Kafka's protocol error codes, so a broker can send them as they are.</summary>
public enum LogError : short
{
    /// <summary>Success.</summary>
    None = 0,

    /// <summary>The offset is below the log start offset or above the high watermark.</summary>
    OffsetOutOfRange = 1,

    /// <summary>A batch failed its CRC, magic, length or record checks (see <see cref="AppendResult.BatchError"/>).</summary>
    CorruptMessage = 2,

    /// <summary>No such topic, or no such partition in it.</summary>
    UnknownTopicOrPartition = 3,

    /// <summary>A batch is larger than the topic's <c>max.message.bytes</c>.</summary>
    MessageTooLarge = 10,

    /// <summary>The topic name is empty, too long, <c>.</c> or <c>..</c>, or has characters other than ASCII letters, digits, '.', '_' and '-'.</summary>
    InvalidTopic = 17,

    /// <summary>One append holds more bytes than the partition's staging buffer.</summary>
    RecordListTooLarge = 18,

    /// <summary>The topic exists already.</summary>
    TopicAlreadyExists = 36,

    /// <summary>The partition count is below 1.</summary>
    InvalidPartitions = 37,

    /// <summary>A topic config is unknown or its value is invalid (INVALID_CONFIG).</summary>
    InvalidConfig = 40,

    /// <summary>Writing or syncing the log failed (a full disk, an I/O error); nothing of the append is visible.</summary>
    StorageError = 56,

    /// <summary>A batch names a compression codec Kafka does not define.</summary>
    UnsupportedCompressionType = 76,

    /// <summary>A record in the batch is malformed, or the record count disagrees with the records.</summary>
    InvalidRecord = 87,
}

namespace DataPlane.Log;

/// <summary>A topic's settings, named after Kafka's topic configs.</summary>
public sealed record TopicConfig
{
    /// <summary><c>segment.bytes</c>: the active segment rolls before it would grow past this (default 1 GiB).</summary>
    public long SegmentBytes { get; init; } = 1L << 30;

    /// <summary><c>segment.ms</c>: the active segment rolls once it is this old and not empty (default 7 days).</summary>
    public TimeSpan SegmentTime { get; init; } = TimeSpan.FromDays(7);

    /// <summary><c>retention.ms</c>: closed segments whose newest record is older are deleted; <see langword="null"/> keeps them (default 7 days).</summary>
    public TimeSpan? RetentionTime { get; init; } = TimeSpan.FromDays(7);

    /// <summary><c>retention.bytes</c>: oldest closed segments are deleted while the partition is larger; <see langword="null"/> for no limit (the default).</summary>
    public long? RetentionBytes { get; init; }

    /// <summary><c>index.interval.bytes</c>: bytes of batches between two sparse index entries (default 4096).</summary>
    public int IndexIntervalBytes { get; init; } = 4096;

    /// <summary><c>max.message.bytes</c>: the largest batch accepted (default 1 MiB plus Kafka's 12-byte log overhead).</summary>
    public int MaxMessageBytes { get; init; } = (1 << 20) + 12;

    /// <summary><c>flush.messages</c> / <c>flush.ms</c>: when appends reach the disk (default <see cref="FlushPolicy.Durable"/>).</summary>
    public FlushPolicy FlushPolicy { get; init; } = FlushPolicy.Durable;

    internal string? Validate() =>
        SegmentBytes < 1024 ? "SegmentBytes must be at least 1024."
        : SegmentTime <= TimeSpan.Zero ? "SegmentTime must be positive."
        : IndexIntervalBytes < 0 ? "IndexIntervalBytes must not be negative."
        : MaxMessageBytes < 64 ? "MaxMessageBytes must be at least 64."
        : FlushPolicy.Messages < 1 ? "FlushPolicy.Messages must be at least 1."
        : null;
}

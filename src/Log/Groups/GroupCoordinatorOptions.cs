namespace DataPlane.Log.Groups;

/// <summary>How a <see cref="GroupCoordinator"/> behaves; the names follow Kafka's broker configs.</summary>
public sealed class GroupCoordinatorOptions
{
    /// <summary>The clock for sessions, rebalance timeouts and commit timestamps (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// <c>group.initial.rebalance.delay.ms</c>: how long the first rebalance of an empty group waits for more members
    /// before it assigns (default 3 s), so that consumers starting together do not cause one rebalance each.
    /// </summary>
    public TimeSpan InitialRebalanceDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary><c>group.min.session.timeout.ms</c> (default 6 s).</summary>
    public TimeSpan MinSessionTimeout { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary><c>group.max.session.timeout.ms</c> (default 30 minutes).</summary>
    public TimeSpan MaxSessionTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary><c>offset.metadata.max.bytes</c>: the most UTF-8 bytes of metadata a commit may carry (default 4 KiB).</summary>
    public int MaxMetadataBytes { get; init; } = 4096;

    /// <summary><c>offsets.topic.num.partitions</c> of the internal <c>__consumer_offsets</c> topic when it is created (default 4).</summary>
    public int OffsetsTopicPartitions { get; init; } = 4;

    /// <summary>
    /// <c>offsets.topic.segment.bytes</c> (default 100 MiB): once a partition of <c>__consumer_offsets</c> has two closed
    /// segments, the coordinator compacts it, so that only the latest commit per key survives.
    /// </summary>
    public long OffsetsSegmentBytes { get; init; } = 100L << 20;

    /// <summary>Gives member ids their random part; a seeded one makes them repeatable.</summary>
    public Random Random { get; init; } = Random.Shared;
}

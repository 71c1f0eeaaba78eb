namespace DataPlane.Log.Consumer;

/// <summary>How a <see cref="LogConsumer"/> behaves; the names follow Kafka's consumer configs.</summary>
public sealed class LogConsumerOptions
{
    /// <summary><c>group.id</c>.</summary>
    public required string GroupId { get; init; }

    /// <summary><c>group.instance.id</c>: makes the consumer a static member, which keeps its partitions across a restart within its session timeout.</summary>
    public string? GroupInstanceId { get; init; }

    /// <summary><c>client.id</c>: the prefix of the member id.</summary>
    public string ClientId { get; init; } = "consumer";

    /// <summary><c>partition.assignment.strategy</c> (default range, as Kafka's).</summary>
    public PartitionAssignmentStrategy AssignmentStrategy { get; init; } = PartitionAssignmentStrategy.Range;

    /// <summary><c>session.timeout.ms</c> (default 45 s).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary><c>heartbeat.interval.ms</c> (default 3 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary><c>max.poll.interval.ms</c>, sent as the rebalance timeout (default 5 minutes).</summary>
    public TimeSpan RebalanceTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>auto.offset.reset</c> (default latest).</summary>
    public AutoOffsetReset AutoOffsetReset { get; init; } = AutoOffsetReset.Latest;

    /// <summary><c>max.partition.fetch.bytes</c>: the byte budget of one read from a partition (default 1 MiB).</summary>
    public int MaxFetchBytes { get; init; } = 1 << 20;

    /// <summary><c>fetch.max.wait.ms</c>: how long an idle <see cref="LogConsumer.ConsumeAsync"/> waits before it looks again (default 100 ms).</summary>
    public TimeSpan FetchWait { get; init; } = TimeSpan.FromMilliseconds(100);
}

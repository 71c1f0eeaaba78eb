namespace DataPlane.Log.Consumer;

/// <summary>The built-in assignors (Kafka's <c>partition.assignment.strategy</c>).</summary>
public enum PartitionAssignmentStrategy
{
    /// <summary><c>range</c> (eager): per topic, contiguous ranges; every member gives up all its partitions at each rebalance.</summary>
    Range,

    /// <summary><c>roundrobin</c> (eager): partitions dealt in turn; every member gives up all its partitions at each rebalance.</summary>
    RoundRobin,

    /// <summary><c>cooperative-sticky</c> (incremental): only partitions that move are revoked; the others keep being consumed.</summary>
    CooperativeSticky,
}

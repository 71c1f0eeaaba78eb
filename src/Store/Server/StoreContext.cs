using DataPlane.Store.Replica;

namespace DataPlane.Store.Server;

/// <summary>What every connection of one server shares.</summary>
internal sealed class StoreContext(StoreOptions options, Replica.Replica replica, ServerStats stats)
{
    public StoreOptions Options { get; } = options;

    public Replica.Replica Replica { get; } = replica;

    public ServerStats Stats { get; } = stats;

    public int Port { get; set; }

    /// <summary>The cluster this node belongs to; null for a single node.</summary>
    public Cluster.ClusterNode? Cluster { get; set; }

    /// <summary>How client commands run across the cluster; null for a single node.</summary>
    public Coordination.ClusterCommands? ClusterCommands { get; set; }

    public long NowMs => Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The largest value a command may store: the protocol limit or FASTER's page, whichever is smaller.</summary>
    public long MaxValueLength => Math.Min(Options.MaxBulkLength, DataPlane.Store.Replica.Replica.MaxValueLength);
}

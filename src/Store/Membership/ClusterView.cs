using DataPlane.Store.Cluster;

namespace DataPlane.Store.Membership;

/// <summary>
/// What a node routes by in one epoch, swapped as a whole: the membership; <see cref="Current"/>, the
/// placement that reads ask and writes count their quorum on; <see cref="Extra"/>, owners that get
/// every write too without counting for the quorum (the new owners while rebalancing, the old owners
/// until every peer has seen the switch); the partitions this node gains and the nodes that gain any.
/// </summary>
internal sealed class ClusterView(ClusterMembership membership, Placement current, Placement? extra, int[] gained, IReadOnlySet<string> receivers)
{
    public ClusterMembership Membership { get; } = membership;

    public Placement Current { get; } = current;

    public Placement? Extra { get; } = extra;

    /// <summary>Partitions this node receives in a transitional epoch.</summary>
    public int[] Gained { get; } = gained;

    /// <summary>Every node that receives partitions in a transitional epoch.</summary>
    public IReadOnlySet<string> Receivers { get; } = receivers;

    public ClusterView WithoutExtra() => new(Membership, Current, null, Gained, Receivers);
}

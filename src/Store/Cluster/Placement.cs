using DataPlane.Ring;

namespace DataPlane.Store.Cluster;

/// <summary>
/// Dynamo's strategy 3: keys map to Q fixed partitions of the hash space (the top bits of the key's
/// hash); each partition's preference list is the ring's first N distinct nodes clockwise from the
/// partition's start. The whole clockwise order of every partition is computed once, so a lookup is a
/// shift and an array slice, and the nodes after the first N are where sloppy-quorum hints go.
/// </summary>
internal sealed class Placement
{
    private readonly int _shift;
    private readonly int[] _order;

    public Placement(IReadOnlyList<string> nodes, int partitions, int replicas)
    {
        Nodes = nodes;
        Replicas = replicas;
        Partitions = partitions;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)partitions);
        var ring = new HashRing<int>(identify: i => nodes[i]);
        for (var i = 0; i < nodes.Count; i++)
        {
            ring.Add(i);
        }

        var snapshot = ring.Current;
        _order = new int[partitions * nodes.Count];
        for (var p = 0; p < partitions; p++)
        {
            var start = partitions == 1 ? 0UL : (ulong)p << _shift;
            snapshot.GetReplicas(start, nodes.Count, _order.AsSpan(p * nodes.Count, nodes.Count));
        }
    }

    /// <summary>Every node by index; index order is the order given.</summary>
    public IReadOnlyList<string> Nodes { get; }

    public int Replicas { get; }

    public int Partitions { get; }

    public int PartitionOf(ReadOnlySpan<byte> key) => Partitions == 1 ? 0 : (int)(RingHash.Hash(key) >> _shift);

    /// <summary>All nodes clockwise from the partition: the first N are its preference list.</summary>
    public ReadOnlySpan<int> OrderOf(int partition) => _order.AsSpan(partition * Nodes.Count, Nodes.Count);

    public ReadOnlySpan<int> PreferenceList(int partition) => OrderOf(partition)[..Replicas];
}

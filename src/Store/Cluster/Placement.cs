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
    private readonly int _members;

    public Placement(IReadOnlyList<string> nodes, int partitions, int replicas)
        : this(nodes, [.. Enumerable.Range(0, nodes.Count)], partitions, replicas)
    {
    }

    /// <summary>A placement over some of the nodes (an epoch's members), keeping every node's index so that placements of two epochs compare.</summary>
    public Placement(IReadOnlyList<string> nodes, IReadOnlyList<int> members, int partitions, int replicas)
    {
        Nodes = nodes;
        _members = members.Count;
        Replicas = Math.Min(replicas, _members);
        Partitions = partitions;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)partitions);
        var ring = new HashRing<int>(identify: i => nodes[i]);
        foreach (var i in members)
        {
            ring.Add(i);
        }

        var snapshot = ring.Current;
        _order = new int[partitions * _members];
        for (var p = 0; p < partitions; p++)
        {
            var start = partitions == 1 ? 0UL : (ulong)p << _shift;
            snapshot.GetReplicas(start, _members, _order.AsSpan(p * _members, _members));
        }
    }

    /// <summary>Every node by index (members or not); index order is the order given.</summary>
    public IReadOnlyList<string> Nodes { get; }

    public int Replicas { get; }

    public int Partitions { get; }

    public int PartitionOf(ReadOnlySpan<byte> key) => PartitionOf(RingHash.Hash(key));

    /// <summary>The partition of a key whose <see cref="RingHash"/> the caller has.</summary>
    public int PartitionOf(ulong keyHash) => Partitions == 1 ? 0 : (int)(keyHash >> _shift);

    /// <summary>All nodes clockwise from the partition: the first N are its preference list.</summary>
    public ReadOnlySpan<int> OrderOf(int partition) => _order.AsSpan(partition * _members, _members);

    public ReadOnlySpan<int> PreferenceList(int partition) => OrderOf(partition)[..Replicas];
}

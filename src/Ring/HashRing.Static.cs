namespace DataPlane.Ring;

/// <summary>Operations over two ring snapshots.</summary>
public static class HashRing
{
    /// <summary>
    /// The arcs whose preference list of <paramref name="replicas"/> nodes differs between two
    /// snapshots, compared as sets: what a rebalance from <paramref name="before"/> to
    /// <paramref name="after"/> must move. Adjacent arcs with the same change are merged; a key
    /// changes owners exactly when its hash falls in one of the returned ranges.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="replicas"/> is below 1.</exception>
    public static IReadOnlyList<RingChange<TNode>> Diff<TNode>(RingSnapshot<TNode> before, RingSnapshot<TNode> after, int replicas = 1)
        where TNode : notnull => RingSnapshot<TNode>.Diff(before, after, replicas);
}

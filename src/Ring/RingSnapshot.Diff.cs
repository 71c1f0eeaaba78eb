namespace DataPlane.Ring;

public sealed partial class RingSnapshot<TNode>
{
    /// <summary>The implementation of <see cref="HashRing.Diff{TNode}"/>.</summary>
    internal static IReadOnlyList<RingChange<TNode>> Diff(RingSnapshot<TNode> before, RingSnapshot<TNode> after, int replicas = 1)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (replicas <= 0)
        {
            ThrowHelper.ReplicaCount(replicas);
        }

        // Between two consecutive positions of the union of both rings' tokens, neither ring has a
        // token, so every hash of the arc (b[i-1], b[i]] has the owners that b[i] itself has.
        var bounds = MergeBounds(before._points, after._points);
        var changes = new List<RingChange<TNode>>();
        if (bounds.Length == 0)
        {
            return changes;
        }

        var ownersBefore = new int[replicas];
        var ownersAfter = new int[replicas];
        RingChange<TNode>? open = null;
        for (var i = 0; i < bounds.Length; i++)
        {
            var end = bounds[i];
            var start = bounds[i == 0 ? bounds.Length - 1 : i - 1];
            var nb = before.GetReplicaIndexes(end, ownersBefore);
            var na = after.GetReplicaIndexes(end, ownersAfter);
            if (SameSet(before, ownersBefore.AsSpan(0, nb), after, ownersAfter.AsSpan(0, na)))
            {
                open = null;
                continue;
            }

            var from = Resolve(before, ownersBefore.AsSpan(0, nb));
            var to = Resolve(after, ownersAfter.AsSpan(0, na));
            if (open is not null && open.Before.AsSpan().SequenceEqual(from) && open.After.AsSpan().SequenceEqual(to))
            {
                open = open with { Range = open.Range with { End = end } };
                changes[^1] = open;
            }
            else
            {
                open = new RingChange<TNode>(new RingRange(start, end), from, to);
                changes.Add(open);
            }
        }

        // The last arc and the first may be one arc cut at position 0: join them.
        if (changes.Count > 1)
        {
            var first = changes[0];
            var last = changes[^1];
            if (first.Range.Start == last.Range.End
                && first.Before.AsSpan().SequenceEqual(last.Before)
                && first.After.AsSpan().SequenceEqual(last.After))
            {
                changes[0] = first with { Range = new RingRange(last.Range.Start, first.Range.End) };
                changes.RemoveAt(changes.Count - 1);
            }
        }

        return changes;
    }

    private static ulong[] MergeBounds(ulong[] a, ulong[] b)
    {
        var merged = new ulong[a.Length + b.Length];
        int i = 0, j = 0, k = 0;
        while (i < a.Length || j < b.Length)
        {
            var next = j == b.Length || (i < a.Length && a[i] <= b[j]) ? a[i++] : b[j++];
            if (k == 0 || merged[k - 1] != next)
            {
                merged[k++] = next;
            }
        }

        return merged[..k];
    }

    private static bool SameSet(RingSnapshot<TNode> x, ReadOnlySpan<int> xs, RingSnapshot<TNode> y, ReadOnlySpan<int> ys)
    {
        if (xs.Length != ys.Length)
        {
            return false;
        }

        var comparer = EqualityComparer<TNode>.Default;
        foreach (var i in xs)
        {
            var found = false;
            foreach (var j in ys)
            {
                if (comparer.Equals(x._nodes[i], y._nodes[j]))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    private static TNode[] Resolve(RingSnapshot<TNode> snapshot, ReadOnlySpan<int> indexes)
    {
        var nodes = new TNode[indexes.Length];
        for (var i = 0; i < indexes.Length; i++)
        {
            nodes[i] = snapshot._nodes[indexes[i]];
        }

        return nodes;
    }
}

using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>
/// Consistent hashing of the client's address on the project's ring: a client keeps its upstream
/// while the set changes elsewhere; when its owner may not be chosen, the next distinct upstreams
/// clockwise (the ring's preference list) take over.
/// </summary>
internal sealed class RingHashBalancer : ILoadBalancer
{
    public int Pick(UpstreamSet set, in PickFilter filter, ulong clientHash)
    {
        var ring = set.Ring;
        if (ring is null || !ring.TryGetOwner(clientHash, out var owner))
        {
            return -1;
        }

        if (filter.Allows(owner, set.Items[owner]))
        {
            return owner;
        }

        Span<int> order = set.Count <= 64 ? stackalloc int[set.Count] : new int[set.Count];
        var count = ring.GetReplicas(clientHash, set.Count, order);
        foreach (var i in order[..count])
        {
            if (filter.Allows(i, set.Items[i]))
            {
                return i;
            }
        }

        return -1;
    }
}

using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>
/// The upstream with the fewest active connections per unit of capacity; ties go to the first one
/// found from a rotating start, so equal upstreams share the load.
/// </summary>
internal sealed class LeastConnectionsBalancer : ILoadBalancer
{
    private int _start = -1;

    public int Pick(UpstreamSet set, in PickFilter filter, ulong clientHash)
    {
        var items = set.Items;
        var n = items.Length;
        var start = (int)((uint)Interlocked.Increment(ref _start) % (uint)n);
        return Scan(items, filter, start);
    }

    /// <summary>The least loaded allowed upstream scanning from <paramref name="start"/>, or -1.</summary>
    internal static int Scan(Upstream[] items, in PickFilter filter, int start)
    {
        var n = items.Length;
        var best = -1;
        var bestLoad = double.MaxValue;
        for (var k = 0; k < n; k++)
        {
            var i = start + k;
            if (i >= n)
            {
                i -= n;
            }

            var u = items[i];
            if (!filter.Allows(i, u))
            {
                continue;
            }

            var load = (u.Active + 1) / filter.Capacity(u);
            if (load < bestLoad)
            {
                best = i;
                bestLoad = load;
            }
        }

        return best;
    }
}

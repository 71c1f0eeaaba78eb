using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>Each upstream in turn; one that may not be chosen passes its turn to the next.</summary>
internal sealed class RoundRobinBalancer : ILoadBalancer
{
    private int _next = -1;

    public int Pick(UpstreamSet set, in PickFilter filter, ulong clientHash)
    {
        var items = set.Items;
        var n = items.Length;
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)n);
        for (var k = 0; k < n; k++)
        {
            var i = start + k;
            if (i >= n)
            {
                i -= n;
            }

            if (filter.Allows(i, items[i]))
            {
                return i;
            }
        }

        return -1;
    }
}

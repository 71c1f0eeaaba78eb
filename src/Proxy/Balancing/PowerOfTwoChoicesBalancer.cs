using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>
/// Power of two choices (Mitzenmacher): two distinct upstreams drawn at random, the one with the lower
/// cost wins (the first on a tie), so the busier of the two is never chosen. The cost is active
/// connections per unit of capacity, or with <c>peakEwma</c> the peak EWMA of connect latency times
/// (active + 1), as Finagle's and Linkerd's balancers do.
/// </summary>
internal sealed class PowerOfTwoChoicesBalancer : ILoadBalancer
{
    // Draws before falling back to a full scan when many upstreams may not be chosen.
    private const int Draws = 3;

    private readonly IRandomSource _random;
    private readonly bool _peakEwma;

    public PowerOfTwoChoicesBalancer(IRandomSource random, bool peakEwma)
    {
        _random = random;
        _peakEwma = peakEwma;
    }

    public int Pick(UpstreamSet set, in PickFilter filter, ulong clientHash)
    {
        var items = set.Items;
        var n = items.Length;
        if (n == 1)
        {
            return filter.Allows(0, items[0]) ? 0 : -1;
        }

        for (var draw = 0; draw < Draws; draw++)
        {
            var a = _random.Next(n);
            var b = _random.Next(n - 1);
            if (b >= a)
            {
                b++;
            }

            var aAllowed = filter.Allows(a, items[a]);
            var bAllowed = filter.Allows(b, items[b]);
            if (aAllowed && bAllowed)
            {
                return Cost(items[b], filter) < Cost(items[a], filter) ? b : a;
            }

            if (aAllowed || bAllowed)
            {
                return aAllowed ? a : b;
            }
        }

        return LeastConnectionsBalancer.Scan(items, filter, _random.Next(n));
    }

    private double Cost(Upstream u, in PickFilter filter) =>
        (_peakEwma ? u.LatencyMs * (u.Active + 1) : u.Active + 1) / filter.Capacity(u);
}

using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>
/// Which upstreams a pick may choose: not tried yet by this connection, and available (healthy, not
/// ejected, breaker letting connections through) unless in panic mode, where health is ignored.
/// </summary>
internal readonly struct PickFilter
{
    private readonly ulong _tried;
    private readonly bool _panic;
    private readonly long _now;
    private readonly int _maxTrials;
    private readonly long _slowStartWindow;

    public PickFilter(ulong tried, bool panic, long now, int maxTrials, long slowStartWindow)
    {
        _tried = tried;
        _panic = panic;
        _now = now;
        _maxTrials = maxTrials;
        _slowStartWindow = slowStartWindow;
    }

    /// <summary>Whether upstream <paramref name="index"/> may be chosen. Tries are tracked for the first 64 upstreams.</summary>
    public bool Allows(int index, Upstream upstream) =>
        (index >= 64 || (_tried & (1UL << index)) == 0) && (_panic || upstream.IsAvailable(_now, _maxTrials));

    /// <summary>The upstream's capacity: its weight, scaled down while it is in slow start.</summary>
    public double Capacity(Upstream upstream) => upstream.Weight * upstream.SlowStartFactor(_now, _slowStartWindow);
}

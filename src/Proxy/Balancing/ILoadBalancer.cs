using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Balancing;

/// <summary>A balancing policy: picks an upstream of an immutable set, without locks.</summary>
internal interface ILoadBalancer
{
    /// <summary>The index in <paramref name="set"/> of the chosen upstream, or -1 when the filter allows none.</summary>
    int Pick(UpstreamSet set, in PickFilter filter, ulong clientHash);
}

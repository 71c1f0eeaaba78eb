using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Forwarding;

/// <summary>What a <see cref="ProxyConnection"/> needs from the listener that accepted it.</summary>
internal interface IConnectionHost
{
    TimeProvider Time { get; }

    UpstreamCluster Cluster { get; }

    void OnConnected(Upstream upstream, TimeSpan latency);

    void OnConnectFailed(Upstream upstream, ConnectFailure cause, HealthChange change);

    void OnNoUpstream();

    void OnClosed(Upstream upstream, TimeSpan duration);

    void OnUnexpected(Exception error);

    /// <summary>An upstream socket could not be made for want of descriptors or memory (<paramref name="errno"/>).</summary>
    void OnOutOfResources(int errno);

    /// <summary>Takes the connection back: off the open list, into the pool.</summary>
    void Return(ProxyConnection connection);
}

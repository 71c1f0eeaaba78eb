namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The balancing policies the proxy offers and the simulator models (issue #9's names).</summary>
internal enum LbPolicy
{
    /// <summary>Each upstream in turn.</summary>
    RoundRobin,

    /// <summary>The upstream with the fewest active connections (ties rotate).</summary>
    LeastConn,

    /// <summary>Two distinct random upstreams; the one with fewer active connections wins.</summary>
    P2C,

    /// <summary>Two distinct random upstreams; the lower peak-EWMA latency times (active + 1) wins.</summary>
    P2CEwma,
}

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>How clients use connections, which decides how often an L4 balancer gets to choose.</summary>
internal enum LbMode
{
    /// <summary>One new connection per request: the balancer chooses for every request.</summary>
    PerRequest,

    /// <summary>A fixed pool of connections opened once: the balancer chooses only at connect time.</summary>
    Persistent,
}

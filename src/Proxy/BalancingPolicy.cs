namespace DataPlane.Proxy;

/// <summary>How the proxy picks an upstream for a new connection.</summary>
public enum BalancingPolicy
{
    /// <summary>Each upstream in turn (<c>round-robin</c>).</summary>
    RoundRobin,

    /// <summary>The upstream with the fewest active connections, relative to its weight (<c>least-conn</c>).</summary>
    LeastConnections,

    /// <summary>Power of two choices: two distinct random upstreams, the less loaded wins (<c>p2c</c>).</summary>
    PowerOfTwoChoices,

    /// <summary>
    /// Power of two choices over peak EWMA of connect latency times (active + 1), as Finagle and
    /// Linkerd do (<c>p2c-ewma</c>).
    /// </summary>
    PeakEwma,

    /// <summary>Consistent hashing of the client's address on the project's ring (<c>ring-hash</c>).</summary>
    RingHash,
}

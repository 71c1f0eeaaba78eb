namespace DataPlane.Proxy.Upstreams;

/// <summary>Why a connection to an upstream failed (a metric label, and what passive health counts).</summary>
internal enum ConnectFailure
{
    /// <summary>The upstream refused the connect (RST on SYN).</summary>
    Refused,

    /// <summary>The connect did not finish within the connect timeout.</summary>
    Timeout,

    /// <summary>Any other connect error (unreachable, out of ports...).</summary>
    Error,

    /// <summary>The upstream reset an established connection mid-stream.</summary>
    Reset,

    /// <summary>
    /// This process was out of descriptors or memory for the upstream's socket: not the upstream's
    /// doing, so counted only, never held against it (no breaker, no ejection). Last, so that the
    /// counters a handoff carries keep their order.
    /// </summary>
    OutOfResources,
}

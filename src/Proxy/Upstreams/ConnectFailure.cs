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
}

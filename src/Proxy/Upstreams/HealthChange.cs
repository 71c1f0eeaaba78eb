namespace DataPlane.Proxy.Upstreams;

/// <summary>What a failure changed in an upstream's passive health: a listener logs these, as HAProxy logs a server going down.</summary>
[Flags]
internal enum HealthChange
{
    None = 0,

    /// <summary>Its circuit breaker opened.</summary>
    BreakerOpened = 1,

    /// <summary>Outlier detection ejected it.</summary>
    Ejected = 2,
}

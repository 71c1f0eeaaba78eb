namespace DataPlane.Proxy.Health;

/// <summary>A circuit breaker's state; the numbers are what the breaker-state gauge reports.</summary>
internal enum BreakerState
{
    /// <summary>Connections flow.</summary>
    Closed = 0,

    /// <summary>The cooldown is over: a limited number of trial connections decide.</summary>
    HalfOpen = 1,

    /// <summary>Too many consecutive failures: the upstream gets no connection until the cooldown ends.</summary>
    Open = 2,
}

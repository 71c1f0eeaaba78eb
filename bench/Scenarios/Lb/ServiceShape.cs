namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The distribution of an upstream's service time around its mean.</summary>
internal enum ServiceShape
{
    /// <summary>Uniform in [mean x (1 - jitter), mean x (1 + jitter)]; jitter 0 is deterministic.</summary>
    Uniform,

    /// <summary>Exponential with the given mean (M/M/c queues), for checks against queueing theory.</summary>
    Exponential,
}

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// One cluster and workload, shared by the measured run and the simulation so both see the same
/// numbers: K upstreams of W workers with a FIFO queue each, upstream <see cref="SlowUpstream"/>
/// slower by <see cref="SlowFactor"/>, Poisson arrivals at <see cref="Load"/> of the capacity.
/// </summary>
internal sealed record LbParameters
{
    /// <summary>The index of the slow upstream.</summary>
    public const int SlowUpstream = 0;

    public int Upstreams { get; init; } = 5;

    public int Workers { get; init; } = 4;

    /// <summary>Mean service time of a normal upstream.</summary>
    public double ServiceMs { get; init; } = 10;

    public double SlowFactor { get; init; } = 10;

    public ServiceShape Shape { get; init; } = ServiceShape.Uniform;

    /// <summary>Relative half-width of the uniform service time (0.5: from half to one and a half times the mean).</summary>
    public double Jitter { get; init; } = 0.5;

    /// <summary>Offered load as a fraction of the cluster's capacity (sum over upstreams of workers / mean service time).</summary>
    public double Load { get; init; } = 0.7;

    /// <summary>Connections in the persistent mode's client pool.</summary>
    public int Connections { get; init; } = 40;

    /// <summary>Decay time of the peak EWMA (Finagle and Linkerd use 10 s).</summary>
    public double EwmaDecayMs { get; init; } = 10_000;

    public int Seed { get; init; } = 11;

    public double MeanServiceMs(int upstream) => upstream == SlowUpstream ? ServiceMs * SlowFactor : ServiceMs;

    /// <summary>Requests per second the cluster can serve at 100% utilisation.</summary>
    public double CapacityPerSecond
    {
        get
        {
            var capacity = 0.0;
            for (var u = 0; u < Upstreams; u++)
            {
                capacity += Workers * 1000 / MeanServiceMs(u);
            }

            return capacity;
        }
    }

    public double OfferedPerSecond => Load * CapacityPerSecond;

    /// <summary>Draws one service time for <paramref name="upstream"/>.</summary>
    public double DrawServiceMs(int upstream, Random random)
    {
        var mean = MeanServiceMs(upstream);
        return Shape switch
        {
            ServiceShape.Exponential => -mean * Math.Log(1 - random.NextDouble()),
            _ => mean * (1 - Jitter + (2 * Jitter * random.NextDouble())),
        };
    }

    public void Validate()
    {
        if (Upstreams < 1 || Workers < 1 || ServiceMs <= 0 || SlowFactor < 1 || Load <= 0 || Connections < 1 || Jitter is < 0 or >= 1)
        {
            throw new ArgumentException($"invalid LB parameters: {this}");
        }
    }
}

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>One simulated upstream: busy workers, a FIFO queue, and what the balancer sees of it.</summary>
internal sealed class SimUpstream(double ewmaDecayMs)
{
    /// <summary>Finagle's penalty for an upstream with requests in flight but no latency observed yet.</summary>
    private const double Penalty = 1e12;

    private double _cost;
    private double _stamp;

    public Queue<(double Arrival, int Connection)> Waiting { get; } = new();

    public int BusyWorkers { get; set; }

    /// <summary>Connections the balancer counts as active on this upstream.</summary>
    public int Active { get; set; }

    /// <summary>Peak EWMA (Finagle's PeakEwma): a latency above the average replaces it at once, lower ones decay in.</summary>
    public void Observe(double now, double latencyMs)
    {
        var weight = Math.Exp(-(now - _stamp) / ewmaDecayMs);
        _cost = latencyMs > _cost ? latencyMs : (_cost * weight) + (latencyMs * (1 - weight));
        _stamp = now;
    }

    /// <summary>The P2C-EWMA score: reading decays the average towards zero, as Finagle's does, so an avoided upstream is tried again.</summary>
    public double Score(double now)
    {
        Observe(now, 0);
        return _cost == 0 && Active != 0 ? Penalty + Active : _cost * (Active + 1);
    }
}

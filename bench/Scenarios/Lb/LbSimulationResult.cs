namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// What one simulated run produced: requests sent to each upstream, latency percentiles, the exact
/// mean latency (arrival to response) and mean wait (arrival to a worker taking the request), and
/// the simulated time from the first arrival to the last response.
/// </summary>
internal sealed record LbSimulationResult(
    LbPolicy Policy, LbMode Mode, long[] Sent, LatencySummary Latency, double MeanLatencyMs, double MeanWaitMs, double ElapsedMs)
{
    public double SlowShare => (double)Sent[LbParameters.SlowUpstream] / Sent.Sum();

    public double Share(int upstream) => (double)Sent[upstream] / Sent.Sum();
}

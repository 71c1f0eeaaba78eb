namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// The measured runs of every policy and mode, the mean service times the servers actually spent,
/// and the cluster the simulation should model from them (same arrival rate, measured service times).
/// </summary>
internal sealed record Measurement(
    IReadOnlyDictionary<(LbPolicy Policy, LbMode Mode), ClientResult> Results,
    LbParameters SimulationParameters,
    double MeasuredFastServiceMs,
    double MeasuredSlowServiceMs);

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// The measured runs of every policy and mode, the cluster the simulation should model (the
/// servers' measured service times), and the load generator's worst dispatch lag.
/// </summary>
internal sealed record Measurement(
    IReadOnlyDictionary<(LbPolicy Policy, LbMode Mode), ClientResult> Results,
    LbParameters SimulationParameters,
    double MeasuredFastServiceMs,
    double MeasuredSlowServiceMs);

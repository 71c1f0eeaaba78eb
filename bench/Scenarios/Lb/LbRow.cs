namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// One policy in one mode: what was measured through the proxy (null when the proxy could not be
/// run) beside the simulation of the same parameters.
/// </summary>
internal sealed record LbRow(
    string Policy,
    string Mode,
    double? SlowShare,
    double? Rps,
    double? P50Ms,
    double? P90Ms,
    double? P99Ms,
    double? P999Ms,
    long? Errors,
    double SimSlowShare,
    double SimP50Ms,
    double SimP90Ms,
    double SimP99Ms,
    double SimP999Ms);

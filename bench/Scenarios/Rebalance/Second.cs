namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>One second of the client load: operations and p99 latency.</summary>
internal sealed record Second(int T, double Ops, double P99Ms);

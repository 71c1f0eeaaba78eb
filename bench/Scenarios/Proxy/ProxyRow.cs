namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>One request/response measurement of the proxy scenario (the JSON row, with the p99's range over the rounds).</summary>
internal sealed record ProxyRow(string Mode, string Target, double Rps, double P50Ms, double P99Ms, double P99MinMs, double P99MaxMs, double RatioToDirect, double RatioToHaproxy, string? Errors);

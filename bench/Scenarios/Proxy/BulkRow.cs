namespace DataPlane.Bench.Scenarios.Proxy;

/// <summary>Bulk throughput through one target.</summary>
internal sealed record BulkRow(string Target, double Gbps, double RatioToDirect, double RatioToHaproxy);

namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>Ring level: fractions of keys whose owner changes on adding and on removing one node.</summary>
internal sealed record RingRow(int Nodes, double MovedOnAdd, double IdealOnAdd, double MovedOnRemove, double IdealOnRemove);

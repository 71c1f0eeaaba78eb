namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// A request whose service ends at the time it is queued under; its connection is the persistent
/// connection that carried it, or -1 in per-request mode.
/// </summary>
internal readonly record struct SimCompletion(int Upstream, double Arrival, int Connection);

namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>Store level: one membership change under load (<see cref="Start"/>: seconds into the client load).</summary>
internal sealed record StoreEvent(
    string Event, long KeysMoved, long IdealKeysMoved, double MovedOverIdeal, long BytesMoved, long IdealBytesMoved, double Start, double Seconds,
    double OpsBefore, double OpsDuring, double OpsAfter, double P50MsBefore, double P50MsDuring, double P50MsAfter,
    double P99MsBefore, double P99MsDuring, double P99MsAfter, long Errors, long Lost);

namespace DataPlane.Bench.Scenarios.Handoff;

/// <summary>
/// One wrk run of the handoff scenario: with or without a handoff in its middle; the handoff's time from
/// the new process's start until it accepted (the old one had stopped accepting just before), and the
/// connections migrated.
/// </summary>
internal sealed record HandoffRow(string Mode, string Run, double Rps, double P50Ms, double P99Ms, double RatioToNoHandoff, double? HandoffMs, double? ConversationMs, int? Migrated, string? Errors);

namespace DataPlane.Store.Coordination;

/// <summary>A quorum read's result: the error reply's text, or the newest stored value (tombstones included; null when no replica has the key).</summary>
internal readonly record struct ReadOutcome(string? Error, byte[]? Stored);

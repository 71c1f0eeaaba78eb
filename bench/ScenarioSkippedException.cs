namespace DataPlane.Bench;

/// <summary>
/// Thrown by a scenario that cannot run here, with the reason a person can act on, and with what it
/// could still produce without the missing tool (simulation rows without the measured ones, say).
/// </summary>
internal sealed class ScenarioSkippedException(string reason, ScenarioReport? partial = null) : Exception(reason)
{
    /// <summary>What the scenario produced anyway; written like a full report, under the skip message.</summary>
    public ScenarioReport? Partial { get; } = partial;
}

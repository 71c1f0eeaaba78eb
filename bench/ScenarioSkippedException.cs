namespace DataPlane.Bench;

/// <summary>Thrown by a scenario that cannot run here, with the reason a person can act on.</summary>
internal sealed class ScenarioSkippedException(string reason) : Exception(reason);

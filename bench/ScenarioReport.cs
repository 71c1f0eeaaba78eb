namespace DataPlane.Bench;

/// <summary>What a scenario measured.</summary>
/// <param name="Json">The object written as the scenario's JSON (camelCase).</param>
/// <param name="Markdown">A Markdown section (tables, chart links) for the scenario's file and for summary.md.</param>
internal sealed record ScenarioReport(object Json, string Markdown);

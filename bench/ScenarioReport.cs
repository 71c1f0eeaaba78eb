namespace DataPlane.Bench;

/// <summary>What a scenario measured.</summary>
/// <param name="Json">The object written as the scenario's JSON (camelCase).</param>
/// <param name="Markdown">A Markdown section (tables, chart links) for the scenario's file and for summary.md.</param>
/// <param name="Charts">Chart files the scenario wrote, relative to the results directory, for summary.md to show first.</param>
internal sealed record ScenarioReport(object Json, string Markdown, IReadOnlyList<string>? Charts = null);

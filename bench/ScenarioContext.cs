namespace DataPlane.Bench;

/// <summary>What a scenario run is told: how long to run and where its files go.</summary>
/// <param name="Quick">A short run (the default run's mode): fewer keys, rounds and seconds.</param>
/// <param name="ResultsDirectory">Where JSON, Markdown and charts are written (<c>bench/results</c>).</param>
internal sealed record ScenarioContext(bool Quick, string ResultsDirectory);

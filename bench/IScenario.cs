namespace DataPlane.Bench;

/// <summary>An end-to-end benchmark run by name from the command line and by the default run.</summary>
internal interface IScenario
{
    /// <summary>The name on the command line: <c>dotnet run -c Release --project bench -- NAME</c>.</summary>
    string Name { get; }

    /// <summary>One line for the usage text.</summary>
    string Description { get; }

    /// <summary>Runs the scenario; throws <see cref="ScenarioSkippedException"/> when a tool it needs is missing.</summary>
    Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken);
}

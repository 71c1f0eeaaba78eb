using DataPlane.Bench.Scenarios;

namespace DataPlane.Bench;

/// <summary>Every scenario, in the order the default run takes them.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new RingScenario(),
        new StoreClusterScenario(),
    ];
}

using DataPlane.Bench.Scenarios;
using DataPlane.Bench.Scenarios.Lb;
using DataPlane.Bench.Scenarios.Kafka;

namespace DataPlane.Bench;

/// <summary>Every scenario, in the order the default run takes them.</summary>
internal static class ScenarioCatalog
{
    public static IReadOnlyList<IScenario> All { get; } =
    [
        new RingScenario(),
        new LbScenario(),
        new LogScenario(),
        new GroupsScenario(),
        new StoreScenario(),
        new StoreClusterScenario(),
        new Scenarios.Rebalance.RebalanceScenario(),
        new ProxyScenario(),
        new HandoffScenario(),
        new KafkaScenario(),
    ];
}

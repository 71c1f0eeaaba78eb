namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The names <c>dataplane proxy --policy</c> takes.</summary>
internal static class LbPolicyNames
{
    public static IReadOnlyList<LbPolicy> All { get; } = [LbPolicy.RoundRobin, LbPolicy.LeastConn, LbPolicy.P2C, LbPolicy.P2CEwma];

    public static string Name(LbPolicy policy) => policy switch
    {
        LbPolicy.RoundRobin => "round-robin",
        LbPolicy.LeastConn => "least-conn",
        LbPolicy.P2C => "p2c",
        LbPolicy.P2CEwma => "p2c-ewma",
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown policy"),
    };
}

namespace DataPlane.Proxy.Balancing;

/// <summary>Creates the balancer of a policy.</summary>
internal static class LoadBalancers
{
    public static ILoadBalancer Create(BalancingPolicy policy, IRandomSource random) => policy switch
    {
        BalancingPolicy.RoundRobin => new RoundRobinBalancer(),
        BalancingPolicy.LeastConnections => new LeastConnectionsBalancer(),
        BalancingPolicy.PowerOfTwoChoices => new PowerOfTwoChoicesBalancer(random, peakEwma: false),
        BalancingPolicy.PeakEwma => new PowerOfTwoChoicesBalancer(random, peakEwma: true),
        BalancingPolicy.RingHash => new RingHashBalancer(),
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown balancing policy."),
    };
}

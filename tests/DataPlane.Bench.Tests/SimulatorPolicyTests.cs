using DataPlane.Bench.Scenarios.Lb;

namespace DataPlane.Bench.Tests;

/// <summary>What each policy does with one upstream 10x slower, at 70% of the cluster's capacity (the figures).</summary>
public sealed class SimulatorPolicyTests
{
    private const int Requests = 100_000;
    private static readonly LbParameters Cluster = new() { Upstreams = 5, Workers = 4, ServiceMs = 1, SlowFactor = 10, Load = 0.7 };

    [Theory]
    [InlineData(5)]
    [InlineData(100)]
    public void RoundRobin_SendsOneKthToTheSlowUpstream(int upstreams)
    {
        var result = LbSimulator.Run(Cluster with { Upstreams = upstreams }, LbPolicy.RoundRobin, LbMode.PerRequest, Requests);

        Assert.InRange(result.SlowShare, (1.0 / upstreams) - 0.001, (1.0 / upstreams) + 0.001);
    }

    [Theory]
    [InlineData(nameof(LbPolicy.LeastConn))]
    [InlineData(nameof(LbPolicy.P2C))]
    [InlineData(nameof(LbPolicy.P2CEwma))]
    public void LoadAwarePolicies_SendAtMostAThirdOfRoundRobinsShare(string policyName)
    {
        var policy = Enum.Parse<LbPolicy>(policyName);
        var roundRobin = LbSimulator.Run(Cluster, LbPolicy.RoundRobin, LbMode.PerRequest, Requests);

        var result = LbSimulator.Run(Cluster, policy, LbMode.PerRequest, Requests);

        Assert.True(result.SlowShare <= roundRobin.SlowShare / 3, $"{policy}: {result.SlowShare:P2} against round-robin's {roundRobin.SlowShare:P2}");
        Assert.True(result.SlowShare > 0, $"{policy} never tried the slow upstream");
    }

    [Theory]
    [InlineData(nameof(LbPolicy.P2C))]
    [InlineData(nameof(LbPolicy.P2CEwma))]
    [InlineData(nameof(LbPolicy.LeastConn))]
    public void LoadAwarePolicies_HaveAtMostHalfOfRoundRobinsP99(string policyName)
    {
        var policy = Enum.Parse<LbPolicy>(policyName);
        var roundRobin = LbSimulator.Run(Cluster, LbPolicy.RoundRobin, LbMode.PerRequest, Requests);

        var result = LbSimulator.Run(Cluster, policy, LbMode.PerRequest, Requests);

        Assert.True(result.Latency.P99Ms <= roundRobin.Latency.P99Ms / 2, $"{policy}: p99 {result.Latency.P99Ms} ms against round-robin's {roundRobin.Latency.P99Ms} ms");
    }

    [Fact]
    public void LeastConn_SpreadsTiesInsteadOfFavouringTheFirstUpstream()
    {
        // At a load this light almost every pick is a tie at zero active connections.
        var result = LbSimulator.Run(Cluster with { SlowFactor = 1, Load = 0.01 }, LbPolicy.LeastConn, LbMode.PerRequest, 10_000);

        for (var u = 0; u < Cluster.Upstreams; u++)
        {
            Assert.InRange(result.Share(u), 0.18, 0.22);
        }
    }

    [Theory]
    [InlineData(nameof(LbPolicy.RoundRobin))]
    [InlineData(nameof(LbPolicy.LeastConn))]
    public void Persistent_DeterministicPoliciesSpreadConnectionsEvenly_SoTheSlowUpstreamKeepsOneKth(string policyName)
    {
        var policy = Enum.Parse<LbPolicy>(policyName);
        var result = LbSimulator.Run(Cluster, policy, LbMode.Persistent, Requests);

        Assert.InRange(result.SlowShare, 0.199, 0.201);
    }

    [Theory]
    [InlineData(nameof(LbPolicy.P2C))]
    [InlineData(nameof(LbPolicy.P2CEwma))]
    public void Persistent_P2CDecidesOnlyAtConnect_SoItCannotAvoidTheSlowUpstream(string policyName)
    {
        var policy = Enum.Parse<LbPolicy>(policyName);
        var perRequest = LbSimulator.Run(Cluster, policy, LbMode.PerRequest, Requests);

        var persistent = LbSimulator.Run(Cluster, policy, LbMode.Persistent, Requests);

        Assert.True(persistent.SlowShare > 2 * perRequest.SlowShare, $"{policy}: persistent {persistent.SlowShare:P2}, per request {perRequest.SlowShare:P2}");
    }

    [Fact]
    public void HundredUpstreams_AMillionRequests_RunsAndKeepsTheSlowShareLow()
    {
        var parameters = Cluster with { Upstreams = 100 };

        var result = LbSimulator.Run(parameters, LbPolicy.P2C, LbMode.PerRequest, 1_000_000);

        Assert.Equal(1_000_000, result.Sent.Sum());
        Assert.True(result.SlowShare < 0.01 / 3, $"slow share {result.SlowShare:P3}");
    }
}

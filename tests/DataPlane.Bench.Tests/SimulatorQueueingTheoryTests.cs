using DataPlane.Bench.Scenarios.Lb;

namespace DataPlane.Bench.Tests;

/// <summary>The simulator against closed-form queueing results (one upstream, so the policy does not matter).</summary>
public sealed class SimulatorQueueingTheoryTests
{
    private static readonly LbParameters SingleServer = new()
    {
        Upstreams = 1,
        Workers = 1,
        ServiceMs = 1,
        SlowFactor = 1,
    };

    [Fact]
    public void MM1_MeanWait_MatchesRhoOverMuTimesOneMinusRho()
    {
        var parameters = SingleServer with { Shape = ServiceShape.Exponential, Load = 0.5 };

        var result = LbSimulator.Run(parameters, LbPolicy.RoundRobin, LbMode.PerRequest, 400_000);

        // Wq = rho / (mu (1 - rho)) = 0.5 / (1 x 0.5) = 1 ms.
        Assert.InRange(result.MeanWaitMs, 0.95, 1.05);
        Assert.InRange(result.MeanLatencyMs, 1.9, 2.1);
    }

    [Fact]
    public void MD1_MeanWait_MatchesPollaczekKhinchine()
    {
        var parameters = SingleServer with { Jitter = 0, Load = 0.7 };

        var result = LbSimulator.Run(parameters, LbPolicy.RoundRobin, LbMode.PerRequest, 400_000);

        // Wq = rho / (2 mu (1 - rho)) = 0.7 / 0.6 ms.
        Assert.InRange(result.MeanWaitMs, 0.7 / 0.6 * 0.95, 0.7 / 0.6 * 1.05);
        Assert.InRange(result.Latency.P50Ms, 0.999, 3);
    }

    [Fact]
    public void MMc_MeanWait_MatchesErlangC()
    {
        const int c = 4;
        const double rho = 0.8;
        var parameters = SingleServer with { Workers = c, Shape = ServiceShape.Exponential, Load = rho };

        var result = LbSimulator.Run(parameters, LbPolicy.RoundRobin, LbMode.PerRequest, 400_000);

        var expected = ErlangC(c, c * rho) / (c - (c * rho));
        Assert.InRange(result.MeanWaitMs, expected * 0.93, expected * 1.07);
    }

    [Fact]
    public void SameSeed_GivesTheSameRun()
    {
        var parameters = new LbParameters();

        var first = LbSimulator.Run(parameters, LbPolicy.P2CEwma, LbMode.PerRequest, 20_000);
        var second = LbSimulator.Run(parameters, LbPolicy.P2CEwma, LbMode.PerRequest, 20_000);

        Assert.Equal(first.Sent, second.Sent);
        Assert.Equal(first.MeanLatencyMs, second.MeanLatencyMs);
    }

    [Fact]
    public void InvalidParameters_AreRefusedWithTheirValues()
    {
        var error = Assert.Throws<ArgumentException>(() => LbSimulator.Run(new LbParameters { Workers = 0 }, LbPolicy.P2C, LbMode.PerRequest, 10));

        Assert.Contains("Workers = 0", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Probability that an arrival waits in M/M/c with offered load a = lambda / mu (Erlang C).</summary>
    private static double ErlangC(int c, double a)
    {
        double term = 1, sum = 1;
        for (var k = 1; k < c; k++)
        {
            term *= a / k;
            sum += term;
        }

        var last = term * a / c / (1 - (a / c));
        return last / (sum + last);
    }
}

using DataPlane.Proxy.Balancing;
using DataPlane.Proxy.Health;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Proxy.Upstreams;
using DataPlane.Testing;

namespace DataPlane.Proxy.Tests;

public class HealthTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestUpstreams.Clock();

    [Fact]
    public void Breaker_OpensAfterFailures_HalfOpensAfterCooldown_ClosesOnSuccess()
    {
        var breaker = new CircuitBreaker(_clock);
        var open = TimeSpan.FromSeconds(10);

        for (var i = 0; i < 4; i++)
        {
            Assert.False(breaker.OnFailure(5, open));
        }

        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.True(breaker.OnFailure(5, open), "the failure that opens the breaker says so (the listener logs it)");
        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.False(breaker.TryAcquire(2));
        Assert.False(breaker.AllowsPick(_clock.GetTimestamp(), 2));

        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(breaker.TryAcquire(2));

        _clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(BreakerState.HalfOpen, breaker.State);
        Assert.True(breaker.TryAcquire(2));
        Assert.True(breaker.TryAcquire(2));
        Assert.False(breaker.TryAcquire(2)); // only two trials at once

        breaker.OnSuccess();
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.True(breaker.TryAcquire(2));
        Assert.Equal(1, breaker.Openings);
    }

    [Fact]
    public void Breaker_HalfOpenFailure_OpensAgainForAnotherCooldown()
    {
        var breaker = new CircuitBreaker(_clock);
        var open = TimeSpan.FromSeconds(10);
        breaker.OnFailure(1, open);
        _clock.Advance(open);
        Assert.True(breaker.TryAcquire(1));

        breaker.OnFailure(1, open);

        Assert.Equal(BreakerState.Open, breaker.State);
        Assert.False(breaker.TryAcquire(1));
        _clock.Advance(open);
        Assert.True(breaker.TryAcquire(1));
    }

    [Fact]
    public void Ejection_AfterConsecutiveFailures_ForBaseTimesCount_AndNeverOverMaxPercent()
    {
        var options = Loopback.Options("127.0.0.1:20000", "127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003") with
        {
            EjectionFailures = 3,
            EjectionBase = TimeSpan.FromSeconds(30),
            MaxEjectionPercent = 50,
            BreakerFailures = 1000,
        };
        var cluster = new UpstreamCluster(options, _clock, SharedRandomSource.Instance);
        var items = cluster.Set.Items;

        Fail(cluster, items[0], 2);
        Assert.False(items[0].IsEjected(_clock.GetTimestamp()));
        Assert.Equal(HealthChange.Ejected, cluster.OnFailure(items[0], ConnectFailure.Refused)); // the listener logs it
        Assert.True(items[0].IsEjected(_clock.GetTimestamp()));

        // 50% of 4: a second may go, a third may not (and nothing is said of it).
        Fail(cluster, items[1], 3);
        Fail(cluster, items[2], 2);
        Assert.Equal(HealthChange.None, cluster.OnFailure(items[2], ConnectFailure.Refused));
        Assert.True(items[1].IsEjected(_clock.GetTimestamp()));
        Assert.False(items[2].IsEjected(_clock.GetTimestamp()));

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.False(items[0].IsEjected(_clock.GetTimestamp()));

        // The second ejection lasts twice as long.
        Fail(cluster, items[0], 3);
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.True(items[0].IsEjected(_clock.GetTimestamp()));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(items[0].IsEjected(_clock.GetTimestamp()));
        Assert.Equal(2, items[0].Ejections);
    }

    [Fact]
    public void Ejection_SuccessRestartsTheFailureRun()
    {
        var cluster = new UpstreamCluster(Loopback.Options("127.0.0.1:20000", "127.0.0.1:20001") with { EjectionFailures = 3 }, _clock, SharedRandomSource.Instance);
        var upstream = cluster.Set.Items[0];

        Fail(cluster, upstream, 2);
        cluster.OnConnected(upstream, _clock.GetTimestamp());
        Fail(cluster, upstream, 2);

        Assert.False(upstream.IsEjected(_clock.GetTimestamp()));
    }

    [Fact]
    public void OutOfResources_IsCountedButNeverHeldAgainstTheUpstream()
    {
        // This process out of descriptors for the upstream's socket: one failure held against it would
        // open its breaker, three would eject it.
        var options = Loopback.Options("127.0.0.1:20000", "127.0.0.1:20001") with { BreakerFailures = 1, EjectionFailures = 3 };
        var cluster = new UpstreamCluster(options, _clock, SharedRandomSource.Instance);
        var upstream = cluster.Set.Items[0];

        for (var i = 0; i < 10; i++)
        {
            cluster.OnFailure(upstream, ConnectFailure.OutOfResources);
        }

        Assert.Equal(BreakerState.Closed, upstream.Breaker.State);
        Assert.False(upstream.IsEjected(_clock.GetTimestamp()));
        Assert.Equal(10, upstream.Failures(ConnectFailure.OutOfResources));
        Assert.Equal(0, upstream.Failures(ConnectFailure.Error));

        // The upstream's own failures still count from zero: the shortage did not start a run.
        Assert.Equal(HealthChange.BreakerOpened, cluster.OnFailure(upstream, ConnectFailure.Refused));
        Assert.Equal(BreakerState.Open, upstream.Breaker.State);
        Assert.False(upstream.IsEjected(_clock.GetTimestamp()));
    }

    [Fact]
    public void PanicMode_WhenNoUpstreamIsAvailable_PicksAmongAll()
    {
        var options = Loopback.Options("127.0.0.1:20000", "127.0.0.1:20001") with { BreakerFailures = 1, MaxEjectionPercent = 100, EjectionFailures = 1 };
        var cluster = new UpstreamCluster(options, _clock, SharedRandomSource.Instance);
        var set = cluster.Set;
        cluster.OnFailure(set.Items[0], ConnectFailure.Refused);
        Assert.Equal(1, cluster.Pick(set, 0, 0));
        Assert.Equal(1, cluster.Pick(set, 0, 0));
        Assert.Equal(0, cluster.PanicPicks);

        cluster.OnFailure(set.Items[1], ConnectFailure.Timeout);
        var picks = new[] { cluster.Pick(set, 0, 0), cluster.Pick(set, 0, 0) };

        Assert.Equal([0, 1], picks.Order());
        Assert.Equal(2, cluster.PanicPicks);
    }

    [Fact]
    public void ProbeHealth_FlipsAfterThresholds_AndStartsSlowStartOnReturn()
    {
        var upstream = TestUpstreams.Make(1, _clock)[0];
        var now = _clock.GetTimestamp();

        Assert.False(upstream.OnProbe(false, 2, 3, now));
        Assert.False(upstream.OnProbe(false, 2, 3, now));
        Assert.True(upstream.OnProbe(false, 2, 3, now));
        Assert.False(upstream.ProbeHealthy);
        Assert.False(upstream.IsAvailable(now, 1));

        _clock.Advance(TimeSpan.FromSeconds(5));
        now = _clock.GetTimestamp();
        Assert.False(upstream.OnProbe(true, 2, 3, now));
        Assert.True(upstream.OnProbe(true, 2, 3, now));
        Assert.True(upstream.ProbeHealthy);
        Assert.Equal(0.1, upstream.SlowStartFactor(now, (long)(10 * _clock.TimestampFrequency)));
    }

    [Fact]
    public async Task ActiveProbes_MarkADeadUpstreamUnhealthy_AndTrafficAvoidsIt()
    {
        await using var live = TestUpstream.Echo();
        var options = Loopback.Options(Loopback.ClosedAddress(), live.Address) with
        {
            HealthInterval = TimeSpan.FromMilliseconds(50),
            UnhealthyThreshold = 2,
        };
        await using var proxy = await Loopback.StartAsync(options);

        await Eventually.True(() => !proxy.Cluster.Set.Items[0].ProbeHealthy, "the dead upstream is marked unhealthy", Loopback.Timeout);
        var refusedBefore = proxy.Cluster.Set.Items[0].Failures(ConnectFailure.Refused);
        for (var i = 0; i < 4; i++)
        {
            using var client = await Loopback.ConnectAsync(proxy.LocalEndPoint);
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            await Loopback.ReadToEndAsync(client);
        }

        Assert.Equal(refusedBefore, proxy.Cluster.Set.Items[0].Failures(ConnectFailure.Refused));
    }

    private static void Fail(UpstreamCluster cluster, Upstream upstream, int times)
    {
        for (var i = 0; i < times; i++)
        {
            cluster.OnFailure(upstream, ConnectFailure.Refused);
        }
    }
}

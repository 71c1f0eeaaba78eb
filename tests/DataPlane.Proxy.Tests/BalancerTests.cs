using DataPlane.Proxy.Balancing;
using DataPlane.Proxy.Tests.Support;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Proxy.Tests;

public class BalancerTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestUpstreams.Clock();

    private PickFilter All => new(0, panic: false, _clock.GetTimestamp(), 1, 0);

    [Fact]
    public void RoundRobin_PicksEachUpstreamExactlyInTurn()
    {
        var set = new UpstreamSet(TestUpstreams.Make(3, _clock), withRing: false);
        var balancer = new RoundRobinBalancer();

        var picks = Enumerable.Range(0, 9).Select(_ => balancer.Pick(set, All, 0)).ToArray();

        Assert.Equal([0, 1, 2, 0, 1, 2, 0, 1, 2], picks);
    }

    [Fact]
    public void RoundRobin_SkipsTriedUpstreams()
    {
        var set = new UpstreamSet(TestUpstreams.Make(3, _clock), withRing: false);
        var balancer = new RoundRobinBalancer();

        var pick = balancer.Pick(set, new PickFilter(tried: 0b001, panic: false, _clock.GetTimestamp(), 1, 0), 0);

        Assert.Equal(1, pick);
        Assert.Equal(-1, balancer.Pick(set, new PickFilter(tried: 0b111, panic: false, _clock.GetTimestamp(), 1, 0), 0));
    }

    [Fact]
    public void LeastConnections_PicksTheLeastLoaded()
    {
        var items = TestUpstreams.Make(4, _clock);
        int[] active = [5, 2, 7, 3];
        for (var i = 0; i < items.Length; i++)
        {
            TestUpstreams.SetActive(items[i], active[i]);
        }

        var set = new UpstreamSet(items, withRing: false);
        var balancer = new LeastConnectionsBalancer();

        for (var round = 0; round < 8; round++)
        {
            Assert.Equal(1, balancer.Pick(set, All, 0));
        }
    }

    [Fact]
    public void LeastConnections_HonoursWeights()
    {
        var items = TestUpstreams.Make(2, _clock);
        items[1].Weight = 4;
        TestUpstreams.SetActive(items[0], 1);
        TestUpstreams.SetActive(items[1], 3);

        // (1+1)/1 = 2 against (3+1)/4 = 1: the heavier upstream takes more.
        Assert.Equal(1, new LeastConnectionsBalancer().Pick(new UpstreamSet(items, false), All, 0));
    }

    [Fact]
    public void PowerOfTwoChoices_NeverPicksTheBusierOfItsTwo()
    {
        var items = TestUpstreams.Make(5, _clock);
        int[] active = [4, 0, 9, 2, 6];
        for (var i = 0; i < items.Length; i++)
        {
            TestUpstreams.SetActive(items[i], active[i]);
        }

        var set = new UpstreamSet(items, withRing: false);
        for (var a = 0; a < 5; a++)
        {
            for (var b = 0; b < 4; b++)
            {
                var second = b >= a ? b + 1 : b;
                var pick = new PowerOfTwoChoicesBalancer(new ScriptedRandom(a, b), peakEwma: false).Pick(set, All, 0);
                Assert.Equal(active[a] <= active[second] ? a : second, pick);
            }
        }
    }

    [Fact]
    public void PowerOfTwoChoices_DrawsTwoDistinctUpstreams()
    {
        var items = TestUpstreams.Make(2, _clock);
        TestUpstreams.SetActive(items[0], 3);
        var set = new UpstreamSet(items, withRing: false);

        // Both draws say 0: the second is shifted past the first, so upstream 1 is compared and wins.
        Assert.Equal(1, new PowerOfTwoChoicesBalancer(new ScriptedRandom(0, 0), peakEwma: false).Pick(set, All, 0));
    }

    [Fact]
    public void PeakEwma_WeighsLatencyTimesLoad()
    {
        var items = TestUpstreams.Make(2, _clock);
        var now = _clock.GetTimestamp();
        items[0].RecordLatency(50, now);
        items[1].RecordLatency(5, now);
        TestUpstreams.SetActive(items[0], 0);
        TestUpstreams.SetActive(items[1], 3);
        var set = new UpstreamSet(items, withRing: false);
        var balancer = new PowerOfTwoChoicesBalancer(new ScriptedRandom(0, 0), peakEwma: true);

        // 50 x 1 against 5 x 4: the fast upstream wins despite its load...
        Assert.Equal(1, balancer.Pick(set, All, 0));

        // ...until its load outweighs the latency: 50 x 1 against 5 x 11.
        TestUpstreams.SetActive(items[1], 10);
        Assert.Equal(0, balancer.Pick(set, All, 0));
    }

    [Fact]
    public void PeakEwma_JumpsUpAtOnceAndDecaysSlowly()
    {
        var upstream = TestUpstreams.Make(1, _clock)[0];
        upstream.RecordLatency(2, _clock.GetTimestamp());
        upstream.RecordLatency(40, _clock.GetTimestamp());
        Assert.Equal(40, upstream.LatencyMs);

        _clock.Advance(TimeSpan.FromSeconds(10));
        upstream.RecordLatency(2, _clock.GetTimestamp());
        Assert.InRange(upstream.LatencyMs, 2 + (38 * 0.35), 2 + (38 * 0.39)); // e^-1 of the gap remains
    }

    [Fact]
    public void RingHash_SameClientSameUpstream_AndFailsOverToTheNextOnTheRing()
    {
        var items = TestUpstreams.Make(5, _clock);
        var set = new UpstreamSet(items, withRing: true);
        var balancer = new RingHashBalancer();
        var hash = DataPlane.Ring.RingHash.Hash("10.1.2.3"u8);

        var owner = balancer.Pick(set, All, hash);
        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(owner, balancer.Pick(set, All, hash)));
        Assert.Equal(set.Ring!.GetOwner(hash), owner);

        var next = balancer.Pick(set, new PickFilter(1UL << owner, false, _clock.GetTimestamp(), 1, 0), hash);
        Span<int> order = stackalloc int[5];
        set.Ring.GetReplicas(hash, 5, order);
        Assert.Equal(order[1], next);
    }

    [Fact]
    public void RingHash_SpreadsClientsOverAllUpstreams()
    {
        var set = new UpstreamSet(TestUpstreams.Make(4, _clock), withRing: true);
        var balancer = new RingHashBalancer();
        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            counts[balancer.Pick(set, All, DataPlane.Ring.RingHash.Hash($"10.0.{i / 256}.{i % 256}"))]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 600, 1400));
    }

    [Fact]
    public void SlowStart_ANewUpstreamTakesASmallerShareAtFirst()
    {
        var items = TestUpstreams.Make(2, _clock);
        _clock.Advance(TimeSpan.FromSeconds(60));
        var fresh = new Upstream("127.0.0.1:30000", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 30000), 1, _clock);
        var set = new UpstreamSet([items[0], fresh], withRing: false);
        TestUpstreams.SetActive(items[0], 3);
        var window = (long)(30 * _clock.TimestampFrequency);
        var filter = new PickFilter(0, false, _clock.GetTimestamp(), 1, window);

        // Fresh: capacity 0.1 at its start, so (0+1)/0.1 = 10 > (3+1)/1 = 4.
        Assert.Equal(0, new LeastConnectionsBalancer().Pick(set, filter, 0));

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, new LeastConnectionsBalancer().Pick(set, new PickFilter(0, false, _clock.GetTimestamp(), 1, window), 0));
    }
}

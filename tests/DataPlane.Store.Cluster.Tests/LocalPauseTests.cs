namespace DataPlane.Store.Cluster.Tests;

public sealed class LocalPauseTests
{
    private static readonly TimeSpan SuspectAfter = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task NodeStalledLongerThanSuspectAfter_DoesNotSuspectItsHealthyPeers_ButStillSuspectsASilentOne()
    {
        var name = TestCluster.UniqueName();
        var clock = new StallableClock();
        await using var silent = new FakePeer("c", garbage: false, name);
        await using var cluster = await TestCluster.StartAsync(
            ["a", "b"],
            o => o.SuspectAfter = SuspectAfter,
            new() { ["c"] = silent.EndPoint },
            name,
            new Dictionary<string, TimeProvider> { ["a"] = clock });
        var a = cluster.Server("a").ClusterNode!;
        var b = a.Peers.Single(p => p.Name == "b");
        var c = a.Peers.Single(p => p.Name == "c");
        await Testing.Eventually.True(() => !c.Suspected, "a connected to the silent peer");

        // a stands still: no heartbeat, so no ping to b and no reply from it, for longer than SuspectAfter.
        clock.Stall();
        var bSuspicions = b.Suspicions;
        var cSuspicions = c.Suspicions;
        await Testing.Eventually.True(
            () => clock.GetElapsedTime(b.LastHeard) > SuspectAfter + TimeSpan.FromMilliseconds(500),
            "a has not heard from b for longer than SuspectAfter",
            TimeSpan.FromSeconds(30));
        clock.Resume();

        // c answers nothing, so a suspects it again within SuspectAfter of the stall; by then b answered many heartbeats.
        await Testing.Eventually.True(() => c.Suspicions > cSuspicions, "a suspects the silent peer", TimeSpan.FromSeconds(30));
        Assert.Equal(bSuspicions, b.Suspicions);
        Assert.False(b.Suspected);
        Assert.True(clock.GetElapsedTime(b.LastHeard) < SuspectAfter, "a hears from b again after the stall");
    }
}

namespace DataPlane.Ring.Tests;

public class ReplicaTests
{
    [Fact]
    public void GetReplicas_ReturnsDistinctNodesStartingWithTheOwner()
    {
        var ring = RingTestData.Ring(10).Current;
        var replicas = new string[3];
        foreach (var key in RingTestData.Keys(5000))
        {
            Assert.Equal(3, ring.GetReplicas(key, 3, replicas));
            Assert.Equal(ring.GetOwner(key), replicas[0]);
            Assert.Equal(3, replicas.Distinct().Count());
        }
    }

    [Fact]
    public void GetReplicas_FewerNodesThanAsked_ReturnsEveryNodeOnce()
    {
        var ring = RingTestData.Ring(2).Current;
        var replicas = new string[5];

        Assert.Equal(2, ring.GetReplicas("k", 5, replicas));
        Assert.Equal(["node-0", "node-1"], replicas[..2].Order());
    }

    [Fact]
    public void GetReplicas_BadCountOrShortDestination_Throws()
    {
        var ring = RingTestData.Ring(5);

        Assert.Throws<ArgumentOutOfRangeException>(() => ring.GetReplicas("k", 0, new string[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.GetReplicas("k", -1, new string[1]));
        Assert.Throws<ArgumentException>(() => ring.GetReplicas("k", 3, new string[2]));
    }

    [Fact]
    public void GetReplicas_UnrelatedMembershipChange_KeepsPreferenceList()
    {
        // A key's preference list changes only when the changed node is in it (added: it would now
        // come first among the list's positions; removed: it was a member).
        var ring = RingTestData.Ring(12);
        var before = ring.Current;
        var after = ring.Add("node-new");
        var removed = ring.Remove("node-3");
        var a = new string[3];
        var b = new string[3];
        var c = new string[3];
        int unchanged = 0, keys = 0;
        foreach (var key in RingTestData.Keys(20_000))
        {
            before.GetReplicas(key, 3, a);
            after.GetReplicas(key, 3, b);
            removed.GetReplicas(key, 3, c);
            keys++;
            if (!b.Contains("node-new"))
            {
                Assert.Equal(a, b);
                unchanged++;
            }
            else
            {
                // The newcomer takes one slot; the others keep their order.
                Assert.Equal(a.Take(2), b.Where(n => n != "node-new").Take(2));
            }

            if (!b.Contains("node-3"))
            {
                Assert.Equal(b, c);
            }
        }

        Assert.InRange(unchanged, keys * 0.6, keys * 0.9);
    }
}

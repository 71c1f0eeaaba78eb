namespace DataPlane.Ring.Tests;

public class BoundedLoadTests
{
    [Fact]
    public void HotKey_NeverPutsMoreThanTheCapOnANode()
    {
        var ring = RingTestData.Ring(10).Current;
        var balancer = new BoundedLoadBalancer<string>(ring, 1.25);
        var random = new Random(3);
        var placed = new List<string>();

        for (var i = 0; i < 5000; i++)
        {
            // Half the items share one hot key; the rest are spread.
            var key = i % 2 == 0 ? "hot" : $"k{random.Next()}";
            var cap = balancer.Capacity;
            var node = balancer.Acquire(key);
            placed.Add(node);
            Assert.True(balancer.LoadOf(node) <= cap, $"{node} holds {balancer.LoadOf(node)} > cap {cap}");
            Assert.Equal((long)Math.Ceiling(1.25 * placed.Count / ring.NodeCount), cap);

            // Now and then an item ends.
            if (i % 7 == 0)
            {
                var victim = placed[random.Next(placed.Count)];
                placed.Remove(victim);
                balancer.Release(victim);
            }
        }

        Assert.Equal(placed.Count, ring.Nodes.ToArray().Sum(balancer.LoadOf));
    }

    [Fact]
    public void BelowCap_KeyGoesToItsOwner()
    {
        var ring = RingTestData.Ring(10).Current;
        var balancer = new BoundedLoadBalancer<string>(ring, 2);

        Assert.Equal(ring.GetOwner("alpha"), balancer.Acquire("alpha"));
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        var ring = RingTestData.Ring(3).Current;

        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedLoadBalancer<string>(ring, 1.0));
        Assert.Throws<InvalidOperationException>(() => new BoundedLoadBalancer<string>(ring, 1.5).Release("node-0"));
        Assert.Throws<InvalidOperationException>(() => new BoundedLoadBalancer<string>(new HashRing<string>().Current, 1.5).Acquire("k"));
    }
}

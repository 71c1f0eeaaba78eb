using System.Text;

namespace DataPlane.Ring.Tests;

public class HashRingLookupTests
{
    [Fact]
    public void GetOwner_EmptyRing_ThrowsClearErrorAndTryFormReturnsFalse()
    {
        var ring = new HashRing<string>();

        var error = Assert.Throws<InvalidOperationException>(() => ring.GetOwner("k"u8));
        Assert.Contains("no nodes", error.Message, StringComparison.Ordinal);
        Assert.False(ring.TryGetOwner("k", out _));
        Assert.Equal(0, ring.GetReplicas("k", 3, new string[3]));
    }

    [Fact]
    public void GetOwner_StringAndUtf8BytesOfSameKey_LandOnSameNode()
    {
        var ring = RingTestData.Ring(10).Current;
        foreach (var key in new[] { string.Empty, "a", "user:42", "ключ-é-🔑", new string('x', 84), new string('y', 86), new string('z', 5000) })
        {
            Assert.Equal(ring.GetOwner(Encoding.UTF8.GetBytes(key)), ring.GetOwner(key));
            Assert.Equal(RingHash.Hash(Encoding.UTF8.GetBytes(key)), RingHash.Hash(key));
        }
    }

    [Fact]
    public void GetOwner_IsTheNodeOfTheFirstTokenClockwise()
    {
        var snapshot = RingTestData.Ring(7, virtualNodes: 20).Current;
        var tokens = Enumerable.Range(0, snapshot.TokenCountTotal)
            .Select(i => (Position: snapshot.TokenAt(i), Owner: snapshot.NodeAt(snapshot.OwnerAt(i))))
            .ToArray();
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var hash = (ulong)random.NextInt64() * 2 + (ulong)random.Next(2);
            var expected = tokens.FirstOrDefault(t => t.Position >= hash, tokens[0]).Owner;
            Assert.Equal(expected, snapshot.GetOwner(hash));
        }

        foreach (var (position, owner) in tokens)
        {
            Assert.Equal(owner, snapshot.GetOwner(position));
        }

        Assert.Equal(tokens[0].Owner, snapshot.GetOwner(ulong.MaxValue));
        Assert.Equal(tokens[0].Owner, snapshot.GetOwner(0UL));
    }

    [Fact]
    public void GetOwner_SingleNodeWithOneToken_OwnsEverything()
    {
        var ring = RingTestData.Ring(1, virtualNodes: 1).Current;

        Assert.Equal("node-0", ring.GetOwner(0UL));
        Assert.Equal("node-0", ring.GetOwner(ulong.MaxValue));
        Assert.Equal(1.0, ring.GetLoadShares()[0], 9);
    }

    [Fact]
    public void Membership_AddTwiceRemoveMissingAndBadWeights_AreClearErrors()
    {
        var ring = new HashRing<string>();
        ring.Add("a");

        Assert.Contains("already", Assert.Throws<InvalidOperationException>(() => ring.Add("a")).Message, StringComparison.Ordinal);
        Assert.Contains("not on the ring", Assert.Throws<InvalidOperationException>(() => ring.Remove("b")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Add("c", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Add("c", -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Add("c", double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Add("c", double.PositiveInfinity));
        Assert.Equal(1, ring.Current.NodeCount);
    }

    [Fact]
    public void Weight_DoubleWeightNode_OwnsAboutTwiceTheShare()
    {
        var ring = new HashRing<string>(new RingOptions { VirtualNodes = 1000 });
        ring.Add("light");
        ring.Add("heavy", 2);
        ring.Add("other");

        var shares = ring.Current.GetLoadShares();

        Assert.InRange(shares[1] / shares[0], 1.7, 2.3);
        Assert.Equal(1.0, shares.Sum(), 9);
    }

    [Fact]
    public void Lookups_AllocateNothing()
    {
        var ring = RingTestData.Ring(100);
        var snapshot = ring.Current;
        var key = "user:123456"u8.ToArray();
        var replicas = new string[3];
        var balancer = new BoundedLoadBalancer<string>(snapshot, 1.25);
        snapshot.GetOwner(key);
        snapshot.GetOwner("user:123456");
        ring.GetOwner(key);
        snapshot.GetReplicas(key, 3, replicas);
        balancer.Release(balancer.Acquire(key));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            snapshot.GetOwner(key);
            snapshot.GetOwner("user:123456");
            ring.GetOwner(key);
            ring.TryGetOwner("user:123456", out _);
            snapshot.GetReplicas(key, 3, replicas);
            balancer.Release(balancer.Acquire(key));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

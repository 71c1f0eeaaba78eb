namespace DataPlane.Ring.Tests;

public class DiffTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Diff_AgreesWithBruteForceOnRandomKeys(int replicas)
    {
        var ring = RingTestData.Ring(8, virtualNodes: 50);
        var before = ring.Current;
        ring.Add("node-x", 1.5);
        var after = ring.Remove("node-2");

        var changes = HashRing.Diff(before, after, replicas);

        var a = new string[replicas];
        var b = new string[replicas];
        foreach (var key in RingTestData.Keys(50_000))
        {
            var hash = RingHash.Hash(key);
            before.GetReplicas(hash, replicas, a);
            after.GetReplicas(hash, replicas, b);
            var differs = !a.Order().SequenceEqual(b.Order());
            var covering = changes.Where(c => c.Range.Contains(hash)).ToArray();
            Assert.Equal(differs, covering.Length == 1);
            Assert.True(covering.Length <= 1, "ranges overlap");
            if (differs)
            {
                Assert.Equal(a, covering[0].Before);
                Assert.Equal(b, covering[0].After);
            }
        }
    }

    [Fact]
    public void Diff_SameSnapshot_IsEmpty()
    {
        var snapshot = RingTestData.Ring(5).Current;

        Assert.Empty(HashRing.Diff(snapshot, snapshot));
    }

    [Fact]
    public void Diff_FromEmptyRing_CoversEverything()
    {
        var empty = new HashRing<string>().Current;
        var one = RingTestData.Ring(1, virtualNodes: 3).Current;

        var changes = HashRing.Diff(empty, one);

        Assert.Equal(1.0, changes.Sum(c => c.Range.Fraction), 9);
        Assert.All(changes, c => Assert.Empty(c.Before));
    }

    [Fact]
    public void Diff_AddingANode_CoversItsShare()
    {
        var ring = RingTestData.Ring(20);
        var before = ring.Current;
        var after = ring.Add("newcomer");

        var fraction = HashRing.Diff(before, after).Sum(c => c.Range.Fraction);

        Assert.Equal(after.GetLoadShares()[^1], fraction, 9);
    }
}

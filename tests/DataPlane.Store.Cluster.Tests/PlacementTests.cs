using System.Text;

namespace DataPlane.Store.Cluster.Tests;

public sealed class PlacementTests
{
    [Fact]
    public void EveryPartition_HasNDistinctNodes_AndEveryNodeComputesTheSameLists()
    {
        var one = new Placement(["a", "b", "c", "d"], 4096, 3);
        var other = new Placement(["a", "b", "c", "d"], 4096, 3);
        var leads = new int[4];
        for (var p = 0; p < one.Partitions; p++)
        {
            var order = one.OrderOf(p);
            Assert.Equal(4, order.ToArray().Distinct().Count());
            Assert.True(order.SequenceEqual(other.OrderOf(p)));
            leads[order[0]]++;
        }

        // Every node leads a fair share of the 4096 partitions (150 virtual nodes each).
        Assert.All(leads, count => Assert.InRange(count, 4096 / 4 / 2, 4096 / 4 * 2));
    }

    [Fact]
    public void KeysMapToPartitionsByTheTopBitsOfTheirHash()
    {
        var placement = new Placement(["a", "b", "c"], 4096, 3);
        var key = Encoding.UTF8.GetBytes("user:42");
        Assert.Equal((int)(Ring.RingHash.Hash(key) >> 52), placement.PartitionOf(key));
        Assert.Equal(0, new Placement(["a"], 1, 1).PartitionOf(key));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task SloppyQuorum_WritesToASubstituteOutsideThePreferenceList_WhichHandsOffWhenTheReplicaReturns(bool fsyncAlways, bool coordinatorIsReplica)
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d"], o => o.WriteQuorum = 3, fsync: fsyncAlways ? FsyncMode.Always : null);
        var placement = cluster.Server("a").ClusterNode!.Placement;
        var keys = Enumerable.Range(0, 800).Select(i => $"sloppy:{i}")
            .Where(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k))).Contains(placement.Nodes.ToList().IndexOf("d")))
            .Where(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k))).Contains(0) == coordinatorIsReplica)
            .Take(50).ToList();
        Assert.NotEmpty(keys);
        await cluster.StopNodeAsync("d");
        await cluster.WaitDownAsync("d");

        // W = 3 of N = 3 with a replica down: only the substitute's durable hint can make the third acknowledgement
        // (a peer's, or, when the coordinator is not a replica, its own: the one node outside the preference list).
        foreach (var key in keys)
        {
            Assert.True(await cluster.Db("a").StringSetAsync(key, "v"));
        }

        var substitutes = coordinatorIsReplica ? (string[])["b", "c"] : ["a"];
        Assert.Equal(keys.Count, substitutes.Sum(n => cluster.Server(n).ClusterNode!.Hints.PendingFor("d")));
        Assert.Equal(keys.Count, ((string[])["a", "b", "c"]).Sum(n => cluster.Server(n).ClusterNode!.Hints.PendingFor("d")));

        await cluster.StartNodeAsync("d");
        await Testing.Eventually.True(() => substitutes.All(n => cluster.Server(n).ClusterNode!.Hints.PendingFor("d") == 0), "the substitutes hand d its hints", TimeSpan.FromSeconds(30));
        var d = cluster.Server("d").ClusterNode!;
        Assert.All(keys, k => Assert.NotNull(d.Sessions.ReadStored(Encoding.UTF8.GetBytes(k))));
    }
}

using System.Text;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

public sealed class QuorumTests
{
    [Fact]
    public async Task TenThousandKeys_WrittenThroughOneNode_AreReadableThroughEveryNode()
    {
        await using var cluster = await TestCluster.StartAsync();
        var a = cluster.Db("a");
        await Task.WhenAll(Enumerable.Range(0, 10_000).Select(i => a.StringSetAsync($"key:{i}", $"value:{i}")));
        foreach (var node in (string[])["a", "b", "c"])
        {
            var db = cluster.Db(node);
            var values = await Task.WhenAll(Enumerable.Range(0, 10_000).Select(i => db.StringGetAsync($"key:{i}")));
            for (var i = 0; i < values.Length; i++)
            {
                Assert.Equal($"value:{i}", values[i]);
            }
        }

        // N = 3 of 3 nodes: every node ends up holding every key, the third replica at the latest after W acknowledged.
        await Testing.Eventually.True(() => (string[])["a", "b", "c"] is var all && all.All(n => cluster.Server(n).KeyCount == 10_000), "every replica holds 10,000 keys", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ValuesLargerThanAPeerReceiveBuffer_ReadThroughEveryNode_ComeBackWhole()
    {
        await using var cluster = await TestCluster.StartAsync();
        var random = new Random(7);

        // A read asks a peer too: its replies carrying these outgrow the 64 KiB a coordinator's loop
        // receives a peer connection into, and arrive over many receives, small ones queued behind them.
        int[] sizes = [1, 70_000, 3 * 1024 * 1024, 10, 200_000];
        var values = sizes.Select(size =>
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return bytes;
        }).ToArray();
        var a = cluster.Db("a");
        for (var i = 0; i < values.Length; i++)
        {
            Assert.True(await a.StringSetAsync($"big:{i}", values[i]));
        }

        foreach (var node in (string[])["a", "b", "c"])
        {
            var db = cluster.Db(node);
            var read = await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => Enumerable.Range(0, values.Length)).Select(i => db.StringGetAsync($"big:{i}")));
            for (var i = 0; i < read.Length; i++)
            {
                Assert.Equal(values[i % values.Length], (byte[]?)read[i]);
            }
        }
    }

    [Fact]
    public async Task OneNodeDown_EveryReadAndWriteSucceeds_AndTheNodeGetsItsHintsWhenBack()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Db("a").StringSetAsync("before", "1");
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");

        var writes = Enumerable.Range(0, 1000).Select(i => cluster.Db(i % 2 == 0 ? "a" : "b").StringSetAsync($"down:{i}", $"v{i}"));
        Assert.All(await Task.WhenAll(writes), Assert.True);
        foreach (var node in (string[])["a", "b"])
        {
            var db = cluster.Db(node);
            var values = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => db.StringGetAsync($"down:{i}")));
            Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal($"v{i}", values[i]));
            Assert.Equal("1", await db.StringGetAsync("before"));
        }

        Assert.True(cluster.Server("a").ClusterNode!.Hints.PendingFor("c") + cluster.Server("b").ClusterNode!.Hints.PendingFor("c") >= 1000);

        await cluster.StartNodeAsync("c");
        await Testing.Eventually.True(
            () => cluster.Server("a").ClusterNode!.Hints.PendingFor("c") == 0 && cluster.Server("b").ClusterNode!.Hints.PendingFor("c") == 0,
            "a and b hand c its hints",
            TimeSpan.FromSeconds(30));
        var c = cluster.Server("c").ClusterNode!;
        Assert.All(Enumerable.Range(0, 1000), i => Assert.Equal($"v{i}", Payload(c.Sessions.ReadStored(Encoding.UTF8.GetBytes($"down:{i}")))));
    }

    [Fact]
    public async Task TwoNodesDown_WritesFailWithTheQuorumError_AndSucceedWhenOneComesBack()
    {
        await using var cluster = await TestCluster.StartAsync();
        var a = cluster.Db("a");
        await a.StringSetAsync("k", "before");
        await cluster.StopNodeAsync("b");
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("b");
        await cluster.WaitDownAsync("c");

        var write = await Assert.ThrowsAsync<RedisServerException>(() => a.StringSetAsync("k", "during"));
        Assert.Contains("quorum not reached: 1 of 2 replicas acknowledged", write.Message, StringComparison.Ordinal);
        var read = await Assert.ThrowsAsync<RedisServerException>(() => a.StringGetAsync("k"));
        Assert.Contains("quorum not reached: 1 of 2 replicas answered", read.Message, StringComparison.Ordinal);
        var increment = await Assert.ThrowsAsync<RedisServerException>(() => a.StringIncrementAsync("counter"));
        Assert.Contains("quorum not reached", increment.Message, StringComparison.Ordinal);

        await cluster.StartNodeAsync("b");
        await Testing.Eventually.True(() => !cluster.Server("a").ClusterNode!.Peers.First(p => p.Name == "b").Suspected, "a sees b up again", TimeSpan.FromSeconds(30));
        Assert.True(await a.StringSetAsync("k", "after"));
        Assert.Equal("after", await a.StringGetAsync("k"));
        Assert.Equal(1, await a.StringIncrementAsync("counter2"));
    }

    [Fact]
    public async Task ReadRepair_FixesAReplicaThatMissedAWrite()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Db("a").StringSetAsync("repair", "old");
        var key = Encoding.UTF8.GetBytes("repair");
        await Testing.Eventually.True(() => Payload(cluster.Server("c").ClusterNode!.Sessions.ReadStored(key)) == "old", "c holds the first write");

        // A write that reached a and b but not c (as if c had dropped it).
        var a = cluster.Server("a").ClusterNode!;
        var newer = a.Coordinator.NewStored("new"u8, tombstone: false, 0);
        a.Sessions.Merge(key, newer);
        cluster.Server("b").ClusterNode!.Sessions.Merge(key, newer);
        Assert.Equal("old", Payload(cluster.Server("c").ClusterNode!.Sessions.ReadStored(key)));

        Assert.Equal("new", await cluster.Db("c").StringGetAsync("repair"));
        await Testing.Eventually.True(() => Payload(cluster.Server("c").ClusterNode!.Sessions.ReadStored(key)) == "new", "read repair brings c up to date");
        Assert.True(cluster.Server("c").ClusterNode!.ReadRepairs >= 1);
        Assert.Contains("read_repairs:", (await cluster.Db("c").ExecuteAsync("INFO", "cluster")).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadModifyWriteCommands_ThroughEveryNode_AreSerialisedAtTheKeysFirstReplica()
    {
        await using var cluster = await TestCluster.StartAsync();
        var nodes = (string[])["a", "b", "c"];
        await Task.WhenAll(nodes.Select(n => Task.WhenAll(Enumerable.Range(0, 100).Select(_ => cluster.Db(n).StringIncrementAsync("counter")))));
        foreach (var node in nodes)
        {
            Assert.Equal("300", await cluster.Db(node).StringGetAsync("counter"));
        }

        var b = cluster.Db("b");
        Assert.Equal(5, await b.StringAppendAsync("text", "hello"));
        Assert.Equal(11, await cluster.Db("c").StringAppendAsync("text", " world"));
        Assert.Equal("hello world", await cluster.Db("a").StringGetAsync("text"));
        Assert.False(await b.StringSetAsync("text", "x", when: When.NotExists));
        Assert.True(await b.StringSetAsync("fresh", "x", when: When.NotExists));
        Assert.True(await cluster.Db("a").KeyExpireAsync("fresh", TimeSpan.FromMinutes(5)));
        Assert.NotNull(await cluster.Db("c").KeyTimeToLiveAsync("fresh"));
        Assert.Equal(2, await cluster.Db("c").KeyDeleteAsync(["fresh", "text", "missing"]));
        Assert.False(await cluster.Db("a").KeyExistsAsync("fresh"));
        Assert.True(await cluster.Db("a").StringSetAsync([new("m1", "1"), new("m2", "2")]));
        Assert.Equal(["1", "2", null], (await cluster.Db("b").StringGetAsync(["m1", "m2", "m3"])).Select(v => (string?)v));
    }

    [Fact]
    public async Task Write_WhenTheCoordinatorIsTheOnlyNodeUp_FailsEvenWhereItKeepsHintsForTheReplicasBeforeIt()
    {
        await using var cluster = await TestCluster.StartWithoutWaitingAsync(["a", "b", "c"], "a");
        var node = cluster.Server("a").ClusterNode!;
        var placement = node.Placement;

        // A key whose preference list puts b or c before a: a keeps their hints and is still one replica of two.
        var key = Enumerable.Range(0, 1000).Select(i => $"hinted:{i}")
            .First(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k)))[0] != node.Self);

        var write = await Assert.ThrowsAsync<RedisServerException>(() => cluster.Db("a").StringSetAsync(key, "v"));
        Assert.Contains("quorum not reached: 1 of 2 replicas acknowledged", write.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WritesAcknowledgedWhileNodesStillConnect_AreReadThroughAnotherNode_OrTheReadFails()
    {
        await using var cluster = await TestCluster.StartWithoutWaitingAsync(["a", "b", "c"], "a", "b", "c");
        var a = cluster.Db("a");
        var c = cluster.Db("c");
        var acknowledged = 0;

        // Writes fail at once while a sees no peer, so the loop is bounded by acknowledged writes and a deadline, not a count.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var i = 0; acknowledged < 100 && DateTime.UtcNow < deadline; i++)
        {
            var key = $"early:{i}";
            try
            {
                await a.StringSetAsync(key, "v");
            }
            catch (RedisServerException e) when (e.Message.Contains("quorum not reached", StringComparison.Ordinal))
            {
                continue;
            }

            acknowledged++;
            try
            {
                Assert.Equal("v", await c.StringGetAsync(key));
            }
            catch (RedisServerException e) when (e.Message.Contains("quorum not reached", StringComparison.Ordinal))
            {
                // R = 2 not reachable yet from c: an error, never a nil.
            }
        }

        Assert.True(acknowledged == 100, $"only {acknowledged} writes were acknowledged in 30 s");
    }

    [Fact]
    public async Task Del_WritesATombstoneEvenWhereItsReadSawNothing_SoACopyOutsideTheReadSetCannotComeBack()
    {
        await using var cluster = await TestCluster.StartAsync();

        // A copy only c holds (a write that failed its quorum but reached c), then c goes down.
        var c = cluster.Server("c").ClusterNode!;
        c.Sessions.Merge("lurking"u8, c.Coordinator.NewStored("back from the dead"u8, tombstone: false, 0));
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");

        // a and b have nothing: DEL counts 0, and its tombstone goes to them and, as a hint, to c.
        Assert.False(await cluster.Db("a").KeyDeleteAsync("lurking"));
        await cluster.StartNodeAsync("c");
        await cluster.WaitAllUpAsync();
        await Testing.Eventually.True(
            () => cluster.Server("a").ClusterNode!.Hints.PendingFor("c") == 0 && cluster.Server("b").ClusterNode!.Hints.PendingFor("c") == 0,
            "the hints for c are delivered",
            TimeSpan.FromSeconds(30));

        // Without the tombstone c's copy was the newest value its read saw, and read repair spread it.
        Assert.True((await cluster.Db("c").StringGetAsync("lurking")).IsNull);
    }

    [Fact]
    public async Task Info_ReportsThePeersTheirStateHintsAndTheKeyspace()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Db("a").StringSetAsync("x", "1");
        await Testing.Eventually.True(() => cluster.Server("b").KeyCount == 1, "b holds x");
        var info = (await cluster.Db("b").ExecuteAsync("INFO")).ToString();
        Assert.Contains("node_id:b", info, StringComparison.Ordinal);
        Assert.Contains("name=a,", info, StringComparison.Ordinal);
        Assert.Contains("state=up,hints_pending=0", info, StringComparison.Ordinal);
        Assert.Contains("hints_refused:0", info, StringComparison.Ordinal);
        Assert.Contains("db0:keys=1,expires=0,avg_ttl=0", info, StringComparison.Ordinal);
        Assert.Contains("cluster_write_quorum:2", (await cluster.Db("b").ExecuteAsync("INFO", "replication")).ToString(), StringComparison.Ordinal);
    }

    private static string? Payload(byte[]? stored) =>
        stored is null || Replica.StoredValue.IsTombstone(stored) ? null : Encoding.UTF8.GetString(Replica.StoredValue.Payload(stored));
}

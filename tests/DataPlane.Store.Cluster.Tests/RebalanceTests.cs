using DataPlane.Store.Membership;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

public sealed class RebalanceTests
{
    private const int Preloaded = 1500;
    private static readonly string[] OldNodes = ["a", "b", "c"];

    [Fact]
    public async Task Join_UnderClientLoad_NoErrorsAndEveryAcknowledgedWriteReadable()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o =>
        {
            o.Partitions = 256;
            // Batches cut by bytes well before their key count, so every batch resumes mid-scan.
            o.TransferBatchBytes = 1024;
        });
        var expected = await PreloadAsync(cluster.Db("a"));
        var load = new ClientLoad(cluster.Db("b"), "load");
        await Testing.Eventually.True(() => load.Operations > 100, "the client load is running", TimeSpan.FromSeconds(30));

        await cluster.JoinNodeAsync("d", seed: "a");
        await WaitStableAsync(cluster, ["a", "b", "c", "d"], members: 4);
        await load.StopAsync();

        Assert.True(load.Errors == 0, string.Join("; ", load.ErrorMessages.Take(5)));
        var d = cluster.Server("d").ClusterNode!;
        Assert.True(d.Rebalance.KeysMoved > 0 && d.Rebalance.PartitionsMoved > 0);
        AssertHeldBy(d, expected.Keys);
        await AssertAllReadableAsync(cluster.Db("d"), expected, load);
        // The old owners delete what they handed over, once every peer has seen the switch.
        await Testing.Eventually.True(
            () => OldNodes.Sum(n => cluster.Server(n).ClusterNode!.Rebalance.KeysDropped) > 0,
            "the old owners deleted their handed-over copies",
            TimeSpan.FromSeconds(30));
        await AssertAllReadableAsync(cluster.Db("a"), expected, load);
    }

    [Fact]
    public async Task Leave_UnderClientLoad_NoErrorsAndEveryAcknowledgedWriteReadable()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d"], o => o.Partitions = 256);
        var expected = await PreloadAsync(cluster.Db("a"));
        var load = new ClientLoad(cluster.Db("a"), "load");
        await Testing.Eventually.True(() => load.Operations > 100, "the client load is running", TimeSpan.FromSeconds(30));

        var result = await ClusterAdmin.LeaveAsync(cluster.PeerAddress("b"), cluster.ClusterName, "d", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain("d", result.Split(':')[1], StringComparison.Ordinal);
        await WaitStableAsync(cluster, ["a", "b", "c", "d"], members: 3);
        await load.StopAsync();

        Assert.True(load.Errors == 0, string.Join("; ", load.ErrorMessages.Take(5)));
        await Testing.Eventually.True(() => cluster.Server("d").KeyCount == 0, "the node that left deleted its copies", TimeSpan.FromSeconds(30));
        await cluster.StopNodeAsync("d");
        await AssertAllReadableAsync(cluster.Db("c"), expected, load);
    }

    [Fact]
    public async Task Leave_ThatWouldLeaveFewerNodesThanReplicas_IsRefused()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o.Partitions = 64);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ClusterAdmin.LeaveAsync(cluster.PeerAddress("a"), cluster.ClusterName, "c", null));
        Assert.Contains("need at least 3 nodes", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, cluster.Server("a").ClusterNode!.Epoch);
    }

    [Fact]
    public async Task ReceiverStoppedMidTransfer_OldOwnersKeepServing_AndTheTransferRestarts()
    {
        var rate = 10_000L;
        await using var cluster = await TestCluster.StartAsync(configure: o =>
        {
            o.Partitions = 256;
            o.TransferBatchKeys = 20;
            o.TransferBytesPerSecond = Volatile.Read(ref rate);
        });
        var expected = await PreloadAsync(cluster.Db("a"));
        await cluster.JoinNodeAsync("d", seed: "a");
        var d = cluster.Server("d").ClusterNode!;
        await Testing.Eventually.True(() => d.Rebalance.TransfersInFlight > 0 && d.Rebalance.KeysMoved > 0, "d is mid-transfer", TimeSpan.FromSeconds(30));

        await cluster.StopNodeAsync("d");
        Assert.True(cluster.Server("a").ClusterNode!.View.Membership.IsTransitional);
        var load = new ClientLoad(cluster.Db("a"), "while-away");
        await Testing.Eventually.True(() => load.Operations > 200, "the client load ran while d was away", TimeSpan.FromSeconds(30));
        await load.StopAsync();
        Assert.True(load.Errors == 0, string.Join("; ", load.ErrorMessages.Take(5)));
        await AssertAllReadableAsync(cluster.Db("b"), expected, load);

        Volatile.Write(ref rate, 50L << 20);
        await cluster.StartNodeAsync("d");
        await WaitStableAsync(cluster, ["a", "b", "c", "d"], members: 4);
        await AssertAllReadableAsync(cluster.Db("d"), expected, load);
    }

    [Fact]
    public async Task SenderStoppedMidTransfer_IsReplacedByAnotherOwner_AndTheOlderEpochNodeCatchesUp()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o =>
        {
            o.Partitions = 256;
            o.TransferBatchKeys = 20;
            o.TransferBytesPerSecond = 10_000;
        });
        var expected = await PreloadAsync(cluster.Db("a"));
        await cluster.JoinNodeAsync("d", seed: "a");
        var d = cluster.Server("d").ClusterNode!;
        await Testing.Eventually.True(() => d.Rebalance.TransfersInFlight > 0 && d.Rebalance.KeysMoved > 0, "d is mid-transfer", TimeSpan.FromSeconds(30));

        await cluster.StopNodeAsync("b");
        await WaitStableAsync(cluster, ["a", "c", "d"], members: 4);
        Assert.True(d.Rebalance.TransfersRestarted > 0);
        await AssertAllReadableAsync(cluster.Db("d"), expected, null);

        // b was away for the switch: it comes back in the transitional epoch and catches up by gossip.
        await cluster.StartNodeAsync("b");
        await WaitStableAsync(cluster, ["a", "b", "c", "d"], members: 4);
        await AssertAllReadableAsync(cluster.Db("b"), expected, null);
    }

    [Fact]
    public async Task LeaveAskedWhileAJoinRebalances_IsRefusedWithAClearError()
    {
        await using var cluster = await TestCluster.StartAsync(configure: SlowTransfer);
        await PreloadAsync(cluster.Db("a"));
        await cluster.JoinNodeAsync("d", seed: "a");
        Assert.True(cluster.Server("a").ClusterNode!.View.Membership.IsTransitional);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ClusterAdmin.LeaveAsync(cluster.PeerAddress("a"), cluster.ClusterName, "b", null));
        Assert.Contains("a rebalance is in progress", error.Message, StringComparison.Ordinal);
        await WaitStableAsync(cluster, ["a", "b", "c", "d"], members: 4);
        Assert.Contains("b", cluster.Server("c").ClusterNode!.View.Membership.Members.Select(m => m.Name));
    }

    [Fact]
    public async Task TwoChangesAskedOfTwoNodesAtOnce_OneIsMadeAndTheOtherRefused()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d", "e"], SlowTransfer);
        await PreloadAsync(cluster.Db("a"));

        // Asked of b and c: each alone would take the next epoch; both must not.
        var leaveD = ClusterAdmin.LeaveAsync(cluster.PeerAddress("b"), cluster.ClusterName, "d", null);
        var leaveE = ClusterAdmin.LeaveAsync(cluster.PeerAddress("c"), cluster.ClusterName, "e", null);
        await Task.WhenAll(leaveD.ContinueWith(_ => { }, TaskScheduler.Default), leaveE.ContinueWith(_ => { }, TaskScheduler.Default));

        Assert.True(leaveD.IsCompletedSuccessfully ^ leaveE.IsCompletedSuccessfully, $"d: {leaveD.Status}, e: {leaveE.Status}");
        var refused = (leaveD.IsFaulted ? leaveD : leaveE).Exception!.InnerException;
        Assert.IsType<InvalidOperationException>(refused);
        Assert.Contains("retry", refused.Message, StringComparison.Ordinal);
        var gone = leaveD.IsCompletedSuccessfully ? "d" : "e";
        await WaitStableAsync(cluster, ["a", "b", "c", "d", "e"], members: 4);
        foreach (var node in (string[])["a", "b", "c", "d", "e"])
        {
            Assert.DoesNotContain(gone, cluster.Server(node).ClusterNode!.View.Membership.Members.Select(m => m.Name));
        }
    }

    [Fact]
    public async Task HungPeer_GossipWithTheOtherPeersKeepsItsPace()
    {
        var name = TestCluster.UniqueName();
        await using var hung = new FakePeer("b", garbage: false, name);
        // Never suspected within the test: a gossip call that waited for the suspicion time would stall every round.
        await using var cluster = await TestCluster.StartAsync(["a", "c"], o => o.SuspectAfter = TimeSpan.FromMinutes(10), new() { ["b"] = hung.EndPoint }, name);
        var a = cluster.Server("a").ClusterNode!;
        await Testing.Eventually.True(() => !a.Peers.First(p => p.Name == "b").Suspected, "a connected to the hung peer");

        var rounds = a.GossipRounds;
        await Testing.Eventually.True(() => a.GossipRounds >= rounds + 20, "a completes gossip rounds while b never answers", TimeSpan.FromSeconds(60));
        Assert.False(a.Peers.First(p => p.Name == "b").Suspected);
    }

    private static void SlowTransfer(ClusterOptions options)
    {
        options.Partitions = 256;
        options.TransferBatchKeys = 20;
        options.TransferBytesPerSecond = 10_000;
    }

    private static async Task<Dictionary<string, string>> PreloadAsync(IDatabase db)
    {
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        var writes = new List<Task>();
        for (var i = 0; i < Preloaded; i++)
        {
            expected[$"pre:{i}"] = $"value-{i}";
            writes.Add(db.StringSetAsync($"pre:{i}", $"value-{i}"));
        }

        await Task.WhenAll(writes);
        await db.KeyDeleteAsync("pre:0");
        expected["pre:0"] = string.Empty;
        return expected;
    }

    private static Task WaitStableAsync(TestCluster cluster, string[] nodes, int members) => Testing.Eventually.True(
        () => nodes.All(n => cluster.Server(n).ClusterNode!.View.Membership is { IsTransitional: false } m && m.Members.Count == members)
            && nodes.Select(n => cluster.Server(n).ClusterNode!.Epoch).Distinct().Count() == 1,
        $"{string.Join(',', nodes)} agree on a stable epoch of {members} members",
        TimeSpan.FromSeconds(60));

    /// <summary>A quorum read finds a key that one replica lacks: this asks the node's own copy of every key it owns.</summary>
    private static void AssertHeldBy(ClusterNode node, IEnumerable<string> keys)
    {
        var session = node.Sessions.Rent();
        try
        {
            foreach (var key in keys)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(key);
                if (node.Placement.PreferenceList(node.Placement.PartitionOf(bytes)).Contains(node.Self))
                {
                    Assert.True(session.TryReadStored(bytes, out _), $"{node.Options.NodeId} owns {key} but holds no copy");
                }
            }
        }
        finally
        {
            node.Sessions.Return(session);
        }
    }

    private static async Task AssertAllReadableAsync(IDatabase db, Dictionary<string, string> expected, ClientLoad? load)
    {
        var all = new Dictionary<string, string>(expected, StringComparer.Ordinal);
        foreach (var (key, value) in load?.Acknowledged ?? [])
        {
            all[key] = value;
        }

        var keys = all.Keys.ToArray();
        var reads = keys.Select(k => db.StringGetAsync(k)).ToArray();
        await Task.WhenAll(reads);
        for (var i = 0; i < keys.Length; i++)
        {
            var want = all[keys[i]];
            Assert.True(want.Length == 0 ? reads[i].Result.IsNull : reads[i].Result == want, $"{keys[i]}: read '{reads[i].Result}', expected '{want}'");
        }
    }
}

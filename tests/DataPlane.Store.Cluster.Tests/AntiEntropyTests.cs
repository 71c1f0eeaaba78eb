using System.Text;
using DataPlane.Store.AntiEntropy;
using DataPlane.Store.Replica;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace DataPlane.Store.Cluster.Tests;

public sealed class AntiEntropyTests(ITestOutputHelper output)
{
    [Fact]
    public void MerkleForest_EqualData_EqualRoots_AndOneDifferingKey_IsFoundAsExactlyOneLeafByDescent()
    {
        var left = new MerkleForest(64);
        var right = new MerkleForest(64);
        var keys = Enumerable.Range(0, 5000).Select(i => Encoding.UTF8.GetBytes($"key:{i}")).ToArray();
        foreach (var key in keys)
        {
            left.Replace(key, null, new ValueVersion(1, 1));
        }

        // The other replica got the same writes in another order, one key through an older version first.
        right.Replace(keys[42], null, new ValueVersion(0, 7));
        foreach (var key in keys.Reverse())
        {
            right.Replace(key, key == keys[42] ? new ValueVersion(0, 7) : null, new ValueVersion(1, 1));
        }

        Assert.All(Enumerable.Range(0, 64), p => Assert.Equal(left.Root(p), right.Root(p)));

        right.Replace(keys[4321], new ValueVersion(1, 1), new ValueVersion(2, 1));
        var differing = Descend(left, right);
        var hash = Ring.RingHash.Hash(keys[4321]);
        Assert.Equal([right.LeafIndexOf(hash)], differing);
        Assert.Equal(right.PartitionOf(hash), differing[0] >> MerkleForest.LeafBits);

        // Removing the key from both (a purged tombstone) levels them again.
        left.Remove(keys[4321], new ValueVersion(1, 1));
        right.Remove(keys[4321], new ValueVersion(2, 1));
        Assert.Empty(Descend(left, right));
    }

    [Fact]
    public async Task NodeAwayWhileTenThousandKeysAreWritten_ConvergesByAntiEntropyAlone_ExchangingLittleMoreThanTheDifference()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o =>
        {
            o.DeliverHints = false;
            o.AntiEntropyInterval = TimeSpan.FromMilliseconds(200);
            o.AntiEntropyKeysPerSecond = 1_000_000;
        });

        // A large data set that every replica holds and that stays untouched.
        var big = new string('x', 1000);
        await WriteAsync(cluster.Db("a"), Enumerable.Range(0, 20_000).Select(i => ($"base:{i}", big)));
        await WriteAsync(cluster.Db("b"), Enumerable.Range(0, 1000).Select(i => ($"gone:{i}", $"doomed-{i}")));
        await Testing.Eventually.True(() => cluster.Server("c").KeyCount == 21_000, "c holds the whole first data set", TimeSpan.FromSeconds(60));
        long wholeBytes = 20_000 * (10 + StoredValue.HeaderSize + 1000);

        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");
        var small = new string('v', 100);
        var fresh = Enumerable.Range(0, 10_000).Select(i => ($"new:{i}", small + i)).ToArray();
        await WriteAsync(cluster.Db("a"), fresh.Where((_, i) => i % 2 == 0));
        await WriteAsync(cluster.Db("b"), fresh.Where((_, i) => i % 2 == 1));
        var deleted = await cluster.Db("b").KeyDeleteAsync(Enumerable.Range(0, 1000).Select(i => (RedisKey)$"gone:{i}").ToArray());
        Assert.Equal(1000, deleted);
        var differingBytes = fresh.Sum(f => (long)Encoding.UTF8.GetByteCount(f.Item1) + StoredValue.HeaderSize + Encoding.UTF8.GetByteCount(f.Item2))
            + Enumerable.Range(0, 1000).Sum(i => (long)Encoding.UTF8.GetByteCount($"gone:{i}") + StoredValue.HeaderSize);

        await cluster.StartNodeAsync("c");
        var c = cluster.Server("c").ClusterNode!;
        await Testing.Eventually.True(() => Converged(c, fresh), "c holds every new key and every delete, by anti-entropy", TimeSpan.FromSeconds(90));

        Assert.Equal(0, cluster.Server("a").ClusterNode!.Hints.Delivered + cluster.Server("b").ClusterNode!.Hints.Delivered);
        Assert.True(cluster.Server("a").ClusterNode!.Hints.PendingFor("c") + cluster.Server("b").ClusterNode!.Hints.PendingFor("c") >= 11_000, "the hints for c stayed undelivered");

        // The deletes made while c was away stay deleted everywhere: c's older values did not come back.
        foreach (var node in (string[])["a", "b", "c"])
        {
            var sessions = cluster.Server(node).ClusterNode!.Sessions;
            Assert.All(Enumerable.Range(0, 1000), i => Assert.True(sessions.ReadStored(Encoding.UTF8.GetBytes($"gone:{i}")) is { } stored && StoredValue.IsTombstone(stored)));
        }

        Assert.Equal(30_000, cluster.Server("c").KeyCount);
        Assert.False(await cluster.Db("a").KeyExistsAsync("gone:7"));

        var bytes = InfoField(await cluster.Db("c").ExecuteAsync("INFO", "cluster"), "anti_entropy_bytes");
        Assert.Equal(c.AntiEntropy.BytesExchanged, bytes, 0.5 * bytes);
        var ratio = (double)bytes / differingBytes;
        output.WriteLine($"c exchanged {bytes:N0} bytes for {differingBytes:N0} bytes of differing keys ({ratio:F2}x); the untouched data set is {wholeBytes:N0} bytes; c received {c.AntiEntropy.KeysReceived:N0} values");
        Assert.True(ratio < 4, $"anti-entropy exchanged {ratio:F2}x the differing keys' bytes");
        Assert.True(bytes < wholeBytes / 3, $"anti-entropy exchanged {bytes:N0} bytes, near the whole data set ({wholeBytes:N0})");
        Assert.True(c.AntiEntropy.KeysReceived >= 11_000);
    }

    [Fact]
    public async Task ReplicasThatEachMissedOtherWrites_BecomeIdentical_NewestVersionWinning_BothWays()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b"], o =>
        {
            o.Replicas = 2;
            o.ReadQuorum = 1;
            o.WriteQuorum = 1;
            o.DeliverHints = false;
            o.AntiEntropyInterval = TimeSpan.FromMilliseconds(100);
        });
        var a = cluster.Server("a").ClusterNode!;
        var b = cluster.Server("b").ClusterNode!;

        // Writes that reached only one replica each, straight into its store (as if the other was away).
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
        for (var i = 0; i < 200; i++)
        {
            a.Sessions.Merge(Encoding.UTF8.GetBytes($"a:{i}"), Stored(now + i, 1, tombstone: false, "from-a"));
            b.Sessions.Merge(Encoding.UTF8.GetBytes($"b:{i}"), Stored(now + i, 2, tombstone: false, "from-b"));
        }

        // a (which starts the exchanges) has to pull b's newer value and b's delete, and push its own delete.
        a.Sessions.Merge("both"u8, Stored(now, 1, tombstone: false, "old"));
        b.Sessions.Merge("both"u8, Stored(now + 5, 2, tombstone: false, "new"));
        a.Sessions.Merge("deleted-on-b"u8, Stored(now, 1, tombstone: false, "old"));
        b.Sessions.Merge("deleted-on-b"u8, Stored(now + 5, 2, tombstone: true, ""));
        b.Sessions.Merge("deleted-on-a"u8, Stored(now, 2, tombstone: false, "old"));
        a.Sessions.Merge("deleted-on-a"u8, Stored(now + 5, 1, tombstone: true, ""));

        var forest = a.Replica.Digests!;
        await Testing.Eventually.True(
            () => Enumerable.Range(0, forest.Partitions).All(p => forest.Root(p) == b.Replica.Digests!.Root(p)),
            "every partition's root is the same on a and b",
            TimeSpan.FromSeconds(60));

        foreach (var node in (ClusterNode[])[a, b])
        {
            Assert.All(Enumerable.Range(0, 200), i => Assert.Equal("from-b", Text(node.Sessions.ReadStored(Encoding.UTF8.GetBytes($"b:{i}")))));
            Assert.All(Enumerable.Range(0, 200), i => Assert.Equal("from-a", Text(node.Sessions.ReadStored(Encoding.UTF8.GetBytes($"a:{i}")))));
            Assert.Equal("new", Text(node.Sessions.ReadStored("both"u8)));
            Assert.True(StoredValue.IsTombstone(node.Sessions.ReadStored("deleted-on-a"u8)!));
            Assert.True(StoredValue.IsTombstone(node.Sessions.ReadStored("deleted-on-b"u8)!));
            Assert.Equal(401, cluster.Server(node.Options.NodeId).KeyCount);
        }

        Assert.True(a.AntiEntropy.KeysReceived >= 202 && a.AntiEntropy.KeysSent >= 201, $"a received {a.AntiEntropy.KeysReceived} and sent {a.AntiEntropy.KeysSent}");
        Assert.True(a.AntiEntropy.PartitionsDiffering > 0 && a.AntiEntropy.Rounds > 0);
    }

    [Fact]
    public async Task MalformedAntiEntropyRequests_CloseTheConnection_AndTheNodeStillAnswersWellFormedOnes()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b"], o => { o.Replicas = 2; o.ReadQuorum = 1; o.WriteQuorum = 1; o.AntiEntropy = false; });
        var node = cluster.Server("a").ClusterNode!;

        // A count of entries the payload does not hold, and a partition past Q.
        byte[][] malformed = [[0xFF, 0xFF, 0, 0], [1, 0, 0, 0, 0, 0, 1, 0, .. new byte[8 * MerkleForest.Fanout]]];
        foreach (var payload in malformed)
        {
            using var socket = await FaultTests.ConnectAsync(node.PeerEndPoint, cluster.ClusterName);
            await FaultTests.SendFrameAsync(socket, Protocol.Internode.FrameType.AeBranches, payload);
            Assert.True(await FaultTests.ClosedAsync(socket));
        }

        Assert.True(node.ProtocolErrors >= 2);
        using (var socket = await FaultTests.ConnectAsync(node.PeerEndPoint, cluster.ClusterName))
        {
            // One whole group of partitions 0-63 whose hash matches nothing: the node answers with their roots.
            var request = new byte[4 + 20];
            request[0] = 1;
            Array.Fill(request, (byte)0xFF, 8, 8);
            await FaultTests.SendFrameAsync(socket, Protocol.Internode.FrameType.AeGroups, request);
            var reply = new byte[Protocol.Internode.Frame.HeaderSize + 4 + 12 + (64 * 8)];
            await FaultTests.ReceiveExactlyAsync(socket, reply);
            Assert.Equal((byte)Protocol.Internode.FrameType.AeGroupRoots, reply[4]);
            Assert.Equal(node.Replica.Digests!.Root(63), BitConverter.ToUInt64(reply, reply.Length - 8));
        }
    }

    [Fact]
    public async Task AntiEntropyIntervalThatIsNotADuration_IsRefusedAtStart()
    {
        using var node = await Testing.DataplaneChild.RunToExitAsync(
            "store",
            ["--node-id", "a", "--listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--peers", "b=127.0.0.1:1",
             "--data", Path.Combine(Path.GetTempPath(), "dp-cli-" + Guid.NewGuid().ToString("N")), "--replicas", "2", "--anti-entropy-interval", "often"]);
        Assert.Equal(2, node.ExitCode);
        Assert.Contains("--anti-entropy-interval takes 500ms, 10s, 1m or off; got 'often'", node.Output, StringComparison.Ordinal);
    }

    internal static byte[] Stored(long timestamp, int nodeId, bool tombstone, string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload);
        var stored = new byte[StoredValue.HeaderSize + bytes.Length];
        StoredValue.WriteHeader(stored, new ValueVersion(timestamp, nodeId), tombstone, 0);
        bytes.CopyTo(stored, StoredValue.HeaderSize);
        return stored;
    }

    private static string Text(byte[]? stored) => stored is null ? "(none)" : Encoding.UTF8.GetString(StoredValue.Payload(stored));

    /// <summary>Compares two forests top-down as an exchange does, returning the differing leaves.</summary>
    private static List<int> Descend(MerkleForest left, MerkleForest right)
    {
        var leaves = new List<int>();
        Span<ulong> a = stackalloc ulong[MerkleForest.Fanout];
        Span<ulong> b = stackalloc ulong[MerkleForest.Fanout];
        Span<ulong> x = stackalloc ulong[MerkleForest.Fanout];
        Span<ulong> y = stackalloc ulong[MerkleForest.Fanout];
        for (var p = 0; p < left.Partitions; p++)
        {
            if (left.Root(p) == right.Root(p))
            {
                continue;
            }

            left.Branches(p, a);
            right.Branches(p, b);
            for (var branch = 0; branch < MerkleForest.Fanout; branch++)
            {
                if (a[branch] == b[branch])
                {
                    continue;
                }

                left.Leaves(p, branch, x);
                right.Leaves(p, branch, y);
                for (var i = 0; i < MerkleForest.Fanout; i++)
                {
                    if (x[i] != y[i])
                    {
                        leaves.Add((p << MerkleForest.LeafBits) | (branch * MerkleForest.Fanout) + i);
                    }
                }
            }
        }

        return leaves;
    }

    private static bool Converged(ClusterNode c, (string Key, string Value)[] fresh)
    {
        foreach (var (key, value) in fresh)
        {
            var stored = c.Sessions.ReadStored(Encoding.UTF8.GetBytes(key));
            if (stored is null || StoredValue.IsTombstone(stored) || !StoredValue.Payload(stored).SequenceEqual(Encoding.UTF8.GetBytes(value)))
            {
                return false;
            }
        }

        for (var i = 0; i < 1000; i++)
        {
            if (c.Sessions.ReadStored(Encoding.UTF8.GetBytes($"gone:{i}")) is not { } stored || !StoredValue.IsTombstone(stored))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task WriteAsync(IDatabase db, IEnumerable<(string Key, string Value)> entries)
    {
        foreach (var chunk in entries.Chunk(1000))
        {
            Assert.All(await Task.WhenAll(chunk.Select(e => db.StringSetAsync(e.Key, e.Value))), Assert.True);
        }
    }

    private static long InfoField(RedisResult info, string name)
    {
        foreach (var line in info.ToString().Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(name.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"INFO has no {name}");
    }
}

using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using DataPlane.Store.Hints;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Hints that must not do harm: a hint frame naming a path instead of a node, a file of hints larger
/// than memory should hold, a hint the disk refuses or for a node that left, and a hint that arrives
/// after a newer write has expired or grown old enough for its tombstone to be gone (both would bring back the older value).
/// </summary>
public sealed class HintTests
{
    private static readonly string[] Nodes = ["a", "b", "c"];

    /// <summary>A stored value for the hint store's own tests, which never read it.</summary>
    private static readonly byte[] Stored = new byte[StoredValue.HeaderSize + 10];

    [Fact]
    public async Task HintFrame_NamingAPathNotANode_DisconnectsThePeerAndWritesNoFile()
    {
        await using var cluster = await TestCluster.StartAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(cluster.PeerAddress("a"));
        await socket.SendAsync(Handshake.Build("intruder", cluster.ClusterName), SocketFlags.None);
        Assert.NotNull(await Task.Run(() => Handshake.ReceiveBlocking(socket, cluster.ClusterName)).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Null(await SendHintAsync(socket, "../escaped"));
        Assert.False(File.Exists(Path.Combine(cluster.DataDirectory("a"), "escaped.0000000001.hints")));
        Assert.Equal(0, cluster.Server("a").ClusterNode!.Hints.PendingFor("../escaped"));
    }

    [Fact]
    public async Task SealedFile_IsReadARecordAtATime_InOrder()
    {
        await WithHintStoreAsync(async (hints, _) =>
        {
            for (var i = 0; i < 1000; i++)
            {
                Assert.True(await hints.AddAsync("c", Encoding.ASCII.GetBytes("key:" + i), Stored));
            }

            Assert.Equal(Enumerable.Range(0, 1000).Select(i => "key:" + i), ReadKeys(Assert.Single(hints.Seal("c"))));
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HintTheDiskRefuses_IsNotCountedAsKept(bool fsync)
    {
        await WithHintStoreAsync(async (hints, directory) =>
        {
            Assert.True(await hints.AddAsync("c", "kept"u8, Stored));
            Assert.Single(hints.Seal("c"));

            // The hints directory is gone, a file in its place: a new hint file cannot be made (running as root, permissions would not stop it).
            Directory.Delete(directory, recursive: true);
            File.WriteAllText(directory, "not a directory");
            Assert.False(await hints.AddAsync("c", "refused"u8, Stored));
            Assert.Equal(1, hints.PendingFor("c"));
            Assert.Equal(1, hints.Refused);
        }, fsync);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HintsAddedAfterClosing_AreRefused_AndCounted(bool fsync)
    {
        await WithHintStoreAsync(async (hints, _) =>
        {
            hints.Dispose();
            Assert.False(await hints.AddAsync("c", "refused"u8, Stored));
            hints.Keep("c", "k"u8, Stored);
            Assert.Equal((0, 2), (hints.PendingFor("c"), hints.Refused));
        }, fsync);
    }

    [Fact]
    public async Task HintsWrittenOffFsyncAlways_AreSyncedOncePerFileByTheNextSync()
    {
        await WithHintStoreAsync(async (hints, _) =>
        {
            Assert.Equal(0, hints.SyncWritten());
            Assert.True(await hints.AddAsync("b", "k1"u8, Stored));
            Assert.True(await hints.AddAsync("c", "k2"u8, Stored));
            Assert.True(await hints.AddAsync("c", "k3"u8, Stored));
            Assert.Equal(2, hints.SyncWritten());
            Assert.Equal(0, hints.SyncWritten());
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HintOnAFullDisk_IsRefused_AndTheNextOneGoesToANewFile(bool fsync)
    {
        await WithHintStoreAsync(async (hints, directory) =>
        {
            Assert.True(await hints.AddAsync("c", "kept"u8, Stored));
            Assert.Single(hints.Seal("c"));

            // The next file is /dev/full: every write to it fails with ENOSPC.
            var full = Path.Combine(directory, "c.0000000002.hints");
            File.CreateSymbolicLink(full, "/dev/full");
            Assert.False(await hints.AddAsync("c", "refused"u8, Stored));
            Assert.Equal(1, hints.Refused);
            File.Delete(full);
            Assert.True(await hints.AddAsync("c", "later"u8, Stored));
            Assert.Equal(fsync ? 0 : 1, hints.SyncWritten());
            Assert.Equal(2, hints.PendingFor("c"));
        }, fsync);
    }

    [Fact]
    public async Task HintOnAFileThatCannotBeSynced_IsRefusedUnderFsyncAlways_AndTheNextOneGoesToANewFile()
    {
        await WithHintStoreAsync(async (hints, directory) =>
        {
            // The first file is /dev/null: writes succeed, fdatasync fails with EINVAL, as a disk's EIO would fail it.
            File.CreateSymbolicLink(Path.Combine(directory, "c.0000000001.hints"), "/dev/null");
            Assert.False(await hints.AddAsync("c", "unsynced"u8, Stored));
            Assert.True(await hints.AddAsync("c", "later"u8, Stored));
            Assert.Equal(["later"], ReadKeys(hints.Seal("c")[^1]));
            Assert.Equal(1, hints.Syncs);

            // Not refused: the unsynced hint stays pending in its file, to be delivered if it can be read.
            Assert.Equal((2, 0), (hints.PendingFor("c"), hints.Refused));
        }, fsync: true);
    }

    [Fact]
    public async Task HintsAddedWhileASyncRuns_ShareTheNextSync_AndNoneIsKeptBeforeIt()
    {
        using var sync = new HeldSync(hold: 1);
        await WithHintStoreAsync(async (hints, _) =>
        {
            var first = hints.AddAsync("c", "first"u8, Stored).AsTask();
            Assert.True(await sync.StartedAsync(), "the first hint's sync started");

            // Added from several threads while the disk is busy with the first hint: they all wait for the next sync.
            var rest = Enumerable.Range(0, 100).Select(i => Task.Run(async () => await hints.AddAsync("c", Encoding.ASCII.GetBytes("key:" + i), Stored))).ToArray();
            await Testing.Eventually.True(() => hints.PendingFor("c") == 101, "every hint to be added", TimeSpan.FromSeconds(10));
            Assert.False(first.IsCompleted || rest.Any(t => t.IsCompleted), "a hint is kept only after the sync that covers it");

            sync.Release();
            Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.All(await Task.WhenAll(rest).WaitAsync(TimeSpan.FromSeconds(10)), Assert.True);
            Assert.Equal(2, hints.Syncs);
            Assert.Equal(101, ReadKeys(Assert.Single(hints.Seal("c"))).Count);
        }, fsync: true, sync: sync.Sync);
    }

    [Fact]
    public async Task FailedSync_FailsEveryHintItCovered()
    {
        using var sync = new HeldSync(hold: 1, fails: call => call <= 2);
        await WithHintStoreAsync(async (hints, _) =>
        {
            var first = hints.AddAsync("c", "first"u8, Stored).AsTask();
            Assert.True(await sync.StartedAsync(), "the first hint's sync started");
            var covered = Enumerable.Range(0, 50).Select(i => hints.AddAsync("c", Encoding.ASCII.GetBytes("key:" + i), Stored).AsTask()).ToArray();
            sync.Release();

            Assert.False(await first.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.All(await Task.WhenAll(covered).WaitAsync(TimeSpan.FromSeconds(10)), Assert.False);
            Assert.Equal(2, sync.Calls);

            // The disk is back: the next hint is kept, in a new file (the failed ones' pages may be lost for good).
            Assert.True(await hints.AddAsync("c", "later"u8, Stored));
            Assert.Equal(["later"], ReadKeys(hints.Seal("c")[^1]));
        }, fsync: true, sync: sync.Sync);
    }

    [Fact]
    public async Task HintsOfAFailedSync_WhoseFileIsGone_AreNoLongerPending_OnceSealed()
    {
        await WithHintStoreAsync(async (hints, directory) =>
        {
            Assert.False(await hints.AddAsync("c", "unsynced"u8, Stored));
            Assert.Equal(1, hints.PendingFor("c"));

            // The failed sync's pages are lost, and with them the file (as a crash would leave it): nothing is left to deliver.
            File.Delete(Assert.Single(Directory.GetFiles(directory, "c.*")));
            Assert.Empty(hints.Seal("c"));
            Assert.Equal(0, hints.PendingFor("c"));
            Assert.DoesNotContain("c", hints.Targets());
            Assert.Equal(1, hints.Refused + hints.Dropped + hints.Delivered);
        }, fsync: true, sync: _ => throw new IOException("fdatasync: Input/output error"));
    }

    [Fact]
    public async Task WriterFailingOnABug_RefusesItsRoundAndEveryLaterHint_InsteadOfLeavingThemWaiting()
    {
        await WithHintStoreAsync(async (hints, _) =>
        {
            Assert.False(await hints.AddAsync("c", "first"u8, Stored).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.False(await hints.AddAsync("c", "later"u8, Stored).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal((1, 1), (hints.PendingFor("c"), hints.Refused));
        }, fsync: true, sync: _ => throw new InvalidOperationException("a bug in the sync"));
    }

    [Fact]
    public async Task ClosingTheStore_WithItsWriterStuckInASync_ReturnsAndRefusesTheHintsNotYetWritten()
    {
        using var sync = new HeldSync();
        var root = Directory.CreateTempSubdirectory("dataplane-hints-").FullName;
        try
        {
            var hints = new HintStore(Path.Combine(root, "hints"), fsync: true, sync: sync.Sync, writerStopTimeout: TimeSpan.FromMilliseconds(200));
            var stuck = hints.AddAsync("c", "stuck"u8, Stored).AsTask();
            Assert.True(await sync.StartedAsync(), "the first hint's sync started");
            var queued = hints.AddAsync("c", "queued"u8, Stored).AsTask();

            // Closing waits 200 ms for the writer here (10 s by default): well inside the hung sync's minute.
            await Task.Run(hints.Dispose).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(await queued.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, hints.Refused);
            Assert.False(stuck.IsCompleted, "the stuck round is decided by its sync");
            sync.Release();
            Assert.True(await stuck.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            sync.Release();
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task DiscardedNode_JoiningAgain_KeepsItsNewHints_WhenAHandoffOfTheOldOnesEnds()
    {
        await WithHintStoreAsync(async (hints, _) =>
        {
            Assert.True(await hints.AddAsync("c", "old"u8, Stored));
            var handedOff = Assert.Single(hints.Seal("c"));
            Assert.Equal(1, hints.Discard("c"));
            Assert.True(await hints.AddAsync("c", "new"u8, Stored));
            hints.Complete("c", handedOff, 1, 0);
            Assert.Equal(1, hints.PendingFor("c"));
            Assert.Equal((0, 1), (hints.Delivered, hints.Dropped));
            Assert.Equal(["new"], ReadKeys(Assert.Single(hints.Seal("c"))));
        });
    }

    [Fact]
    public async Task HintsForANodeNoLongerInTheCluster_AreDropped()
    {
        await using var cluster = await TestCluster.StartWithoutWaitingAsync(Nodes);
        using (var planted = new HintStore(Path.Combine(cluster.DataDirectory("a"), "hints"), fsync: false))
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await planted.AddAsync("zed", Encoding.ASCII.GetBytes("key:" + i), Stored));
            }
        }

        foreach (var node in Nodes)
        {
            await cluster.StartNodeAsync(node);
        }

        await cluster.WaitAllUpAsync();
        var hints = cluster.Server("a").ClusterNode!.Hints;
        await Testing.Eventually.True(() => hints.PendingFor("zed") == 0, "the hints for a node that is not a member to be dropped", TimeSpan.FromSeconds(30));
        Assert.Equal(3, hints.Dropped);
        Assert.Empty(Directory.GetFiles(Path.Combine(cluster.DataDirectory("a"), "hints"), "zed.*"));
    }

    [Fact]
    public async Task LateHint_AfterANewerWriteExpiredAndWasSwept_DoesNotBringBackTheOlderValue()
    {
        await using var cluster = await TestCluster.StartAsync(configure: o => o.DeliverHints = false);
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");
        var a = cluster.Db("a");
        Assert.True(await a.StringSetAsync("k", "old"));
        Assert.Equal(1, cluster.Server("a").ClusterNode!.Hints.PendingFor("c"));

        await cluster.StartNodeAsync("c");
        await cluster.WaitAllUpAsync();
        Assert.True(await a.StringSetAsync("k", "new", TimeSpan.FromMilliseconds(200)));
        await Testing.Eventually.True(() => Nodes.All(n => Holds(cluster, n, "k", out var s) && s.Length > StoredValue.HeaderSize && !StoredValue.IsVisible(s, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())), "the newer write to reach every replica and expire", TimeSpan.FromSeconds(30));

        // Every replica sweeps now: a cluster node buries the expired value as a tombstone of its version.
        foreach (var node in Nodes)
        {
            Sweep(cluster, node);
        }

        Assert.Equal(0L, (long)await a.ExecuteAsync("DBSIZE"));

        cluster.Server("a").ClusterNode!.Options.DeliverHints = true;
        await Testing.Eventually.True(() => cluster.Server("a").ClusterNode!.Hints.PendingFor("c") == 0, "the hint to be handed to c", TimeSpan.FromSeconds(30));
        Assert.True((await cluster.Db("c").StringGetAsync("k")).IsNull);
        Assert.True(Holds(cluster, "c", "k", out var stored) && StoredValue.IsTombstone(stored), "c holds the newer version, buried, not the hinted older one");
    }

    [Fact]
    public async Task CoordinatorsOwnHint_RefusedByTheDiskUnderFsyncAlways_IsNoAcknowledgement()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d"], o => o.WriteQuorum = 3, fsync: FsyncMode.Always);
        var placement = cluster.Server("a").ClusterNode!.Placement;
        var d = placement.Nodes.ToList().IndexOf("d");

        // A key of b, c and d: with d down, a, the one node outside its preference list, keeps d's hint, and only that makes W = 3.
        var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k))) is var list && list.Contains(d) && !list.Contains(0));
        await cluster.StopNodeAsync("d");
        await cluster.WaitDownAsync("d");
        var directory = Path.Combine(cluster.DataDirectory("a"), "hints");
        Directory.Delete(directory, recursive: true);
        File.WriteAllText(directory, "not a directory");

        var refused = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => cluster.Db("a").StringSetAsync(key, "v"));

        // Decided once the refusal left too few replicas to reach W, whatever b and c had answered by then.
        Assert.Matches("quorum not reached: [0-2] of 3 replicas acknowledged", refused.Message);
        Assert.Equal(0, cluster.Server("a").ClusterNode!.Hints.PendingFor("d"));
    }

    [Fact]
    public async Task PeersHint_UnderFsyncAlways_IsAcknowledgedOnlyOnceItsGroupCommitIsDone()
    {
        var failing = false;

        // c's disk: each hint file sync waits for the test, then fails while the test says so.
        using var sync = new HeldSync(fails: _ => Volatile.Read(ref failing));
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d"], o =>
        {
            o.WriteQuorum = 3;
            if (o.NodeId == "c")
            {
                o.HintSync = sync.Sync;
            }
        }, fsync: FsyncMode.Always);
        var placement = cluster.Server("a").ClusterNode!.Placement;
        var (c, d) = (placement.Nodes.ToList().IndexOf("c"), placement.Nodes.ToList().IndexOf("d"));

        // Keys of a, b and d: with d down, c, the one node outside their preference list, keeps d's hint, and only that makes W = 3.
        var keys = Enumerable.Range(0, 1000).Select(i => $"k{i}").Where(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k))) is var list && list.Contains(d) && list.Contains(0) && !list.Contains(c)).Take(2).ToArray();
        await cluster.StopNodeAsync("d");
        await cluster.WaitDownAsync("d");

        var write = cluster.Db("a").StringSetAsync(keys[0], "v");
        Assert.True(await sync.StartedAsync(), "c's group commit of the hint started");
        await Testing.Eventually.True(() => Holds(cluster, "b", keys[0], out _), "b to hold the write", TimeSpan.FromSeconds(10));
        Assert.False(write.IsCompleted, "the write waits for c's group commit");
        sync.Release();
        Assert.True(await write.WaitAsync(TimeSpan.FromSeconds(10)));

        Volatile.Write(ref failing, true);
        var refused = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => cluster.Db("a").StringSetAsync(keys[1], "v"));
        // Decided once the refusal left too few replicas to reach W, whether or not b had answered by then.
        Assert.Matches("quorum not reached: [12] of 3 replicas acknowledged", refused.Message);

        // Refused by its holder, the hint stays here, kept for the replica that is down, not for the holder.
        var hints = cluster.Server("a").ClusterNode!.Hints;
        await Testing.Eventually.True(() => hints.PendingFor("d") == 1, "a to keep d's refused hint", TimeSpan.FromSeconds(10));
        Assert.Equal(0, hints.PendingFor("c"));
    }

    [Fact]
    public async Task CoordinatorsOwnHint_OnAHungDiskUnderFsyncAlways_FailsTheWriteAtTheRequestTimeout()
    {
        using var release = new ManualResetEventSlim();
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c", "d"], o =>
        {
            (o.WriteQuorum, o.RequestTimeout) = (3, TimeSpan.FromSeconds(1));
            if (o.NodeId == "a")
            {
                o.HintSync = _ => Assert.True(release.Wait(TimeSpan.FromSeconds(60)), "the test released the sync");
            }
        }, fsync: FsyncMode.Always);
        try
        {
            var placement = cluster.Server("a").ClusterNode!.Placement;
            var d = placement.Nodes.ToList().IndexOf("d");

            // A key of b, c and d: with d down, a keeps d's hint, whose sync never ends.
            var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => placement.PreferenceList(placement.PartitionOf(Encoding.UTF8.GetBytes(k))) is var list && list.Contains(d) && !list.Contains(0));
            await cluster.StopNodeAsync("d");
            await cluster.WaitDownAsync("d");

            // Well inside the client's own timeout (20 s) and the hung sync (60 s).
            var refused = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => cluster.Db("a").StringSetAsync(key, "v").WaitAsync(TimeSpan.FromSeconds(15)));
            Assert.Matches("quorum not reached: [0-2] of 3 replicas acknowledged", refused.Message);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task HintOlderThanHalfTheTombstoneGrace_IsDroppedNotDelivered()
    {
        var clock = new ShiftedClock();

        // No anti-entropy: a round would bring c the key from a or b, and the test looks at what the hint did.
        await using var cluster = await TestCluster.StartAsync(configure: o => (o.DeliverHints, o.AntiEntropy) = (false, false), clocks: new Dictionary<string, TimeProvider> { ["a"] = clock });
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");
        Assert.True(await cluster.Db("a").StringSetAsync("k", "old"));
        await cluster.StartNodeAsync("c");
        await cluster.WaitAllUpAsync();

        // a's hint is now older than half the tombstone grace (StoreOptions.TombstoneGrace, 1 h).
        clock.Offset = TimeSpan.FromMinutes(31);
        cluster.Server("a").ClusterNode!.Options.DeliverHints = true;
        await Testing.Eventually.True(() => cluster.Server("a").ClusterNode!.Hints.PendingFor("c") == 0, "the hint file to be done with", TimeSpan.FromSeconds(30));
        Assert.False(Holds(cluster, "c", "k", out _));
        Assert.Equal((0, 1), (cluster.Server("a").ClusterNode!.Hints.Delivered, cluster.Server("a").ClusterNode!.Hints.Dropped));
    }

    /// <summary>Runs <paramref name="test"/> on a new hint store and its directory, deleted afterwards.</summary>
    internal static async Task WithHintStoreAsync(Func<HintStore, string, Task> test, bool fsync = false, Action<Microsoft.Win32.SafeHandles.SafeFileHandle>? sync = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var root = Directory.CreateTempSubdirectory("dataplane-hints-").FullName;
        try
        {
            var directory = Path.Combine(root, "hints");
            using var hints = new HintStore(directory, fsync, sync, logger);
            await test(hints, directory);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The keys of a hint file's records, in order.</summary>
    internal static List<string> ReadKeys(string path)
    {
        using var reader = new HintReader(path);
        var keys = new List<string>();
        while (reader.TryRead())
        {
            keys.Add(Encoding.ASCII.GetString(reader.Key));
        }

        return keys;
    }

    private static bool Holds(TestCluster cluster, string node, string key, out byte[] stored)
    {
        var sessions = cluster.Server(node).ClusterNode!.Sessions;
        var session = sessions.Rent();
        try
        {
            var found = session.TryReadStored(Encoding.ASCII.GetBytes(key), out var span);
            stored = span.ToArray();
            return found;
        }
        finally
        {
            sessions.Return(session);
        }
    }

    private static void Sweep(TestCluster cluster, string node)
    {
        var clusterNode = cluster.Server(node).ClusterNode!;
        var session = clusterNode.Sessions.Rent();
        try
        {
            clusterNode.Replica.Sweep(session);
        }
        finally
        {
            clusterNode.Sessions.Return(session);
        }
    }

    /// <summary>Sends a hint for <paramref name="target"/>; the reply's frame type, or null when the node closed the connection.</summary>
    private static async Task<FrameType?> SendHintAsync(Socket socket, string target)
    {
        var name = Encoding.ASCII.GetBytes(target);
        var key = "k"u8.ToArray();
        var stored = new byte[StoredValue.HeaderSize + 1];
        StoredValue.WriteHeader(stored, new ValueVersion(1, 1), tombstone: false, 0);
        var payload = new byte[1 + name.Length + 4 + key.Length + stored.Length];
        payload[0] = (byte)name.Length;
        name.CopyTo(payload, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(1 + name.Length), (uint)key.Length);
        key.CopyTo(payload, 1 + name.Length + 4);
        stored.CopyTo(payload, 1 + name.Length + 4 + key.Length);
        var frame = new byte[Frame.HeaderSize + payload.Length];
        Frame.WriteHeader(frame, FrameType.Hint, 1, payload.Length);
        payload.CopyTo(frame, Frame.HeaderSize);
        await socket.SendAsync(frame, SocketFlags.None);

        var reply = new byte[Frame.HeaderSize + 1];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (read < reply.Length)
        {
            var n = await socket.ReceiveAsync(reply.AsMemory(read), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        return (FrameType)reply[4];
    }

    /// <summary>The system clock with its wall time moved on by <see cref="Offset"/>; timers and timestamps are the system's.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }
}

using System.Diagnostics;
using System.Text;
using DataPlane.Store.Hints;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// Hint delivery to a returning node: a sliding window of requests in flight (not a batch awaited
/// whole), a backlog of many windows delivered in full with its file deleted, and the rate limit kept.
/// </summary>
public sealed class HandoffTests
{
    [Fact]
    public async Task Delivery_KeepsAWholeWindowInFlight_ToAPeerThatHasNotAnsweredYet()
    {
        var name = TestCluster.UniqueName();
        await using var hung = new FakePeer("b", garbage: false, name);
        await using var cluster = await TestCluster.StartAsync(
            ["a", "c"],
            o =>
            {
                // Nothing times out while the test looks: the hung peer's unanswered hints stay in flight.
                o.RequestTimeout = TimeSpan.FromMinutes(5);
                o.SuspectAfter = TimeSpan.FromMinutes(5);
            },
            new() { ["b"] = hung.EndPoint },
            name);
        await cluster.StopNodeAsync("a");
        await PlantHintsAsync(cluster, "a", "b", 3 * HintDelivery.Window);
        await cluster.StartNodeAsync("a");

        // One window awaited whole stopped at its 256 until they were answered; the sliding window fills up.
        await Testing.Eventually.True(() => hung.Writes >= HintDelivery.Window, $"{HintDelivery.Window} hints in flight to b", TimeSpan.FromSeconds(30));
        Assert.Equal(3 * HintDelivery.Window, cluster.Server("a").ClusterNode!.Hints.PendingFor("b"));
    }

    [Fact]
    public Task Delivery_OfLargeValues_ToAPeerThatNeverAnswers_KeepsItsBytesInFlightWithinTheCap() =>
        WithDeliveryToAHungPeerAsync(TimeSpan.FromSeconds(2), async delivery =>
        {
            var stored = new byte[1 << 20];
            var size = 1 + stored.Length;

            // Sixteen 1 MiB hints would pass 16 MiB by their keys: fifteen go, and the sixteenth waits (a window counted in hints alone sent 1,024).
            var sent = 0;
            ValueTask room;
            while ((room = delivery.WaitForRoomAsync(size, CancellationToken.None)).IsCompleted)
            {
                Assert.True(delivery.TrySend("k"u8, stored));
                Assert.InRange(delivery.BytesInFlight, 0, HintDelivery.MaxBytesInFlight);
                Assert.True(++sent <= HintDelivery.Window, "the byte cap stopped the sender");
            }

            Assert.Equal((int)(HintDelivery.MaxBytesInFlight / size), sent);

            // Unanswered, they time out: room comes once half the bytes are counted off, and the delivery has failed.
            await room.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.InRange(delivery.BytesInFlight, 0, HintDelivery.MaxBytesInFlight / 2);
            Assert.True(delivery.Failed);
            await delivery.DrainAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, delivery.BytesInFlight);
        });

    [Fact]
    public Task Delivery_OfAHintLargerThanTheByteCap_WaitsForTheWindowToEmpty_ThenSendsItAlone() =>
        WithDeliveryToAHungPeerAsync(TimeSpan.FromSeconds(5), async delivery =>
        {
            // 20 MiB, a value the store takes, more than the cap: it waits for the small hint (here its timeout),
            // then goes alone. Room counted as "the cap less this hint" would wait for a negative byte count for good.
            var large = new byte[20 << 20];
            Assert.True(delivery.TrySend("small"u8, new byte[StoredValue.HeaderSize]));
            var room = delivery.WaitForRoomAsync(1 + large.Length, CancellationToken.None);
            Assert.False(room.IsCompleted, "the large hint waits while another is in flight");
            await room.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, delivery.BytesInFlight);
            Assert.True(delivery.TrySend("k"u8, large));
            Assert.Equal(1 + large.Length, delivery.BytesInFlight);
        });

    /// <summary>Runs <paramref name="test"/> on a delivery with <paramref name="timeout"/> over a connection to a peer that never answers.</summary>
    private static async Task WithDeliveryToAHungPeerAsync(TimeSpan timeout, Func<HintDelivery, Task> test)
    {
        var name = TestCluster.UniqueName();
        await using var hung = new FakePeer("b", garbage: false, name);
        var client = new PeerClient("b", hung.EndPoint, "a", name, 4096, TimeProvider.System, NullLogger.Instance);
        try
        {
            client.Start();
            await Testing.Eventually.True(() => client.IsConnected, "connected to the peer", TimeSpan.FromSeconds(10));
            await test(new HintDelivery(client, timeout));
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task BacklogOfManyWindows_IsDeliveredInFull_AndItsFileDeleted()
    {
        var count = (3 * HintDelivery.Window) + 17;
        await using var cluster = await TestCluster.StartAsync(configure: o => o.AntiEntropy = false);
        await cluster.StopNodeAsync("a");
        await PlantHintsAsync(cluster, "a", "c", count);
        await cluster.StartNodeAsync("a");

        var a = cluster.Server("a").ClusterNode!;
        await Testing.Eventually.True(() => a.Hints.PendingFor("c") == 0, "a hands c its hints", TimeSpan.FromSeconds(30));
        Assert.Equal((count, 0L), (a.Hints.Delivered, a.Hints.Dropped));
        Assert.Empty(Directory.GetFiles(Path.Combine(cluster.DataDirectory("a"), "hints"), "c.*"));
        var c = cluster.Server("c").ClusterNode!;
        Assert.All(Enumerable.Range(0, count), i => Assert.NotNull(c.Sessions.ReadStored(Encoding.ASCII.GetBytes($"hinted:{i}"))));
    }

    [Theory]
    [InlineData(FsyncMode.EverySecond)]
    [InlineData(FsyncMode.Always)]
    public async Task HintLargerThanTheDeliveryWindow_IsDeliveredWhole(FsyncMode fsync)
    {
        // 20 MiB: legal (the store takes values up to its 32 MiB page), larger than a delivery window's 16 MiB.
        var value = new byte[20 << 20];
        Random.Shared.NextBytes(value);
        await using var cluster = await TestCluster.StartAsync(configure: o => o.AntiEntropy = false, fsync: fsync);
        await cluster.StopNodeAsync("c");
        await cluster.WaitDownAsync("c");
        Assert.True(value.Length > HintDelivery.MaxBytesInFlight);

        // Between two small hints: the large one may find bytes in flight (the test above pins that case).
        Assert.True(await cluster.Db("a").StringSetAsync("before", "small"));
        Assert.True(await cluster.Db("a").StringSetAsync("large", value));
        Assert.True(await cluster.Db("a").StringSetAsync("after", "small"));
        Assert.Equal(3, cluster.Server("a").ClusterNode!.Hints.PendingFor("c"));

        await cluster.StartNodeAsync("c");
        await cluster.WaitAllUpAsync();
        await Testing.Eventually.True(() => cluster.Server("a").ClusterNode!.Hints.PendingFor("c") == 0, "the hints to be handed to c", TimeSpan.FromSeconds(60));
        Assert.Equal(3, cluster.Server("a").ClusterNode!.Hints.Delivered);
        var c = cluster.Server("c").ClusterNode!;
        Assert.True(c.Sessions.ReadStored("large"u8) is { } stored && StoredValue.Payload(stored).SequenceEqual(value), "c holds the large value, whole");
        Assert.NotNull(c.Sessions.ReadStored("before"u8));
        Assert.NotNull(c.Sessions.ReadStored("after"u8));
    }

    [Fact]
    public async Task Delivery_KeepsToTheRateLimit()
    {
        const int count = 2000;
        const int perSecond = 4000;
        await using var cluster = await TestCluster.StartAsync(configure: o => (o.DeliverHints, o.AntiEntropy, o.HintsPerSecond) = (false, false, perSecond));
        await cluster.StopNodeAsync("a");
        await PlantHintsAsync(cluster, "a", "c", count);
        await cluster.StartNodeAsync("a");
        await cluster.WaitAllUpAsync();

        var a = cluster.Server("a").ClusterNode!;
        var started = Stopwatch.StartNew();
        a.Options.DeliverHints = true;
        await Testing.Eventually.True(() => a.Hints.PendingFor("c") == 0, "a hands c its hints", TimeSpan.FromSeconds(30));

        // The limit is checked every 64 hints: the last check, after 1,984, waits until 1,984 / 4,000 s have passed.
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1984.0 / perSecond), $"{count} hints at {perSecond}/s took {started.Elapsed}");
        Assert.Equal(count, a.Hints.Delivered);
    }

    /// <summary>Writes <paramref name="count"/> hints for <paramref name="target"/> into a stopped node's hint store, keys <c>hinted:i</c>, versioned now.</summary>
    private static async Task PlantHintsAsync(TestCluster cluster, string node, string target, int count)
    {
        var stored = new byte[StoredValue.HeaderSize + 10];
        var clock = new HybridLogicalClock(TimeProvider.System);
        using var planted = new HintStore(Path.Combine(cluster.DataDirectory(node), "hints"), fsync: false);
        for (var i = 0; i < count; i++)
        {
            StoredValue.WriteHeader(stored, new ValueVersion(clock.Next(), 1), tombstone: false, 0);
            Assert.True(await planted.AddAsync(target, Encoding.ASCII.GetBytes($"hinted:{i}"), stored));
        }
    }
}

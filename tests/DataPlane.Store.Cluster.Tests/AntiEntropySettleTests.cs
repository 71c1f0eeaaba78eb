using System.Text;
using DataPlane.Store.AntiEntropy;
using DataPlane.Store.Protocol.Internode;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>
/// An exchange compares the leaves that differed a second time, a settle pause later, and scans the log
/// only for those that differ both times. Each test runs one exchange from a to b itself, on a clock
/// that holds the pause until the test has acted.
/// </summary>
public sealed class AntiEntropySettleTests
{
    [Fact]
    public async Task LeafThatDiffersOnlyWhileAWriteIsInFlight_IsNeitherScannedNorRepaired()
    {
        await using var cluster = await StartPairAsync();
        var (a, b) = (cluster.Server("a").ClusterNode!, cluster.Server("b").ClusterNode!);
        var write = AntiEntropyTests.Stored(Now(), 2, tombstone: false, "in flight");
        b.Sessions.Merge("in-flight"u8, write); // Replicated to b; a's copy of the write is still on its way.

        using var clock = new HeldTimerClock();
        var stats = new AntiEntropyStats();
        var run = Exchange(a, stats, clock);
        Assert.True(await clock.StartedAsync(), "the exchange paused before looking again");
        Assert.Equal(1, stats.LeavesDiffering);

        a.Sessions.Merge("in-flight"u8, write); // The write lands on a during the pause.
        clock.Release();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, stats.LeavesSettled);
        Assert.Equal(0, stats.LogScans);
        Assert.Equal(0, b.AntiEntropy.LogScans);
        Assert.Equal(0, stats.KeysReceived + stats.KeysSent);
    }

    [Fact]
    public async Task LeafThatStillDiffersAfterThePause_IsScannedAndRepaired_InTheSameExchange()
    {
        await using var cluster = await StartPairAsync();
        var (a, b) = (cluster.Server("a").ClusterNode!, cluster.Server("b").ClusterNode!);
        b.Sessions.Merge("missed"u8, AntiEntropyTests.Stored(Now(), 2, tombstone: false, "only on b")); // a never gets this write.

        using var clock = new HeldTimerClock();
        var stats = new AntiEntropyStats();
        var run = Exchange(a, stats, clock);
        Assert.True(await clock.StartedAsync(), "the exchange paused before looking again");
        clock.Release();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, stats.LeavesSettled);
        Assert.Equal(1, stats.LogScans);
        Assert.Equal(1, b.AntiEntropy.LogScans);
        Assert.Equal(1, stats.KeysReceived);
        Assert.Equal("only on b", Encoding.UTF8.GetString(StoredValue.Payload(a.Sessions.ReadStored("missed"u8)!)));
    }

    [Fact]
    public async Task ExchangeStoppedDuringThePause_HoldsThePeersLeaseUntilThen_AndEndsIt()
    {
        await using var cluster = await StartPairAsync();
        var (a, b) = (cluster.Server("a").ClusterNode!, cluster.Server("b").ClusterNode!);
        b.Sessions.Merge("missed"u8, AntiEntropyTests.Stored(Now(), 2, tombstone: false, "only on b"));

        using var clock = new HeldTimerClock();
        using var stop = new CancellationTokenSource();
        var run = Exchange(a, new AntiEntropyStats(), clock, stop.Token);
        Assert.True(await clock.StartedAsync(), "the exchange paused before looking again");
        using var other = await FaultTests.ConnectAsync(b.PeerEndPoint, cluster.ClusterName);
        Assert.Equal(FrameType.AeBusy, await GroupsReplyAsync(other, expectBusy: true));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FrameType.AeGroupRoots, await GroupsReplyAsync(other, expectBusy: false));
    }

    /// <summary>Another replica's first request (partitions 0-63, a hash that matches nothing): the reply's type.</summary>
    private static async Task<FrameType> GroupsReplyAsync(System.Net.Sockets.Socket socket, bool expectBusy)
    {
        var request = new byte[4 + 20];
        request[0] = 1;
        Array.Fill(request, (byte)0xFF, 8, 8);
        await FaultTests.SendFrameAsync(socket, FrameType.AeGroups, request);
        var reply = new byte[Frame.HeaderSize + (expectBusy ? 0 : 4 + 12 + (64 * 8))];
        await FaultTests.ReceiveExactlyAsync(socket, reply);
        return (FrameType)reply[4];
    }

    /// <summary>
    /// Two replicas of every partition that start no rounds of their own (they still answer a peer's); a long
    /// request timeout, so b's lease (twice it) outlasts a test's connect and handshake on a loaded machine.
    /// </summary>
    private static Task<TestCluster> StartPairAsync() => TestCluster.StartAsync(["a", "b"], o =>
    {
        o.RequestTimeout = TimeSpan.FromSeconds(30);
        o.Replicas = 2;
        o.ReadQuorum = 1;
        o.WriteQuorum = 1;
        o.AntiEntropy = false;
        o.DeliverHints = false;
    });

    /// <summary>Starts one exchange from <paramref name="a"/> with its peer b over every partition they share.</summary>
    private static Task Exchange(ClusterNode a, AntiEntropyStats stats, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        var peer = a.Peers.Single(p => p.Name == "b").Client;
        var exchange = new AntiEntropyExchange(a.Replica, a.Sessions, stats, peer, a.Options.RequestTimeout, 1_000_000, TimeSpan.FromSeconds(1), clock);
        return exchange.RunAsync(ClusterNode.SharedPartitions(a.Placement, "a", "b"), cancellationToken);
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
}

using System.Collections.Concurrent;
using DataPlane.Store.Protocol.Internode;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>Requests beyond a peer's in-flight limit wait in its queue: they are sent as slots come free, and heard slow as those in flight are.</summary>
public sealed class PeerQueueTests
{
    [Fact]
    public async Task QueuedRequest_IsHeardSlowBeforeItsTimeout()
    {
        var name = TestCluster.UniqueName();
        await using var hung = new FakePeer("b", garbage: false, name);
        var client = new PeerClient("b", hung.EndPoint, "a", name, 1, TimeProvider.System, NullLogger.Instance);
        try
        {
            client.Start();
            await DataPlane.Testing.Eventually.True(() => client.IsConnected, "connected to the peer");
            var handler = new Recorder();
            var timeout = TimeSpan.FromMinutes(1);
            Assert.True(client.TrySend(FrameType.Read, -1, "k1"u8, default, default, timeout, TimeSpan.FromMilliseconds(50), handler, 1));
            Assert.True(client.TrySend(FrameType.Read, -1, "k2"u8, default, default, timeout, TimeSpan.FromMilliseconds(50), handler, 2));

            // The second waits for the one slot the hung peer never frees: a read asks another replica when it hears this.
            await handler.Slow[2].Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Empty(handler.Failures);
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task OneSlotPerPeer_EveryWriteReachesEveryReplica()
    {
        await using var cluster = await TestCluster.StartAsync(["a", "b", "c"], o =>
        {
            o.MaxInFlightPerPeer = 1;
            o.WriteQuorum = 3;
            o.RequestTimeout = TimeSpan.FromSeconds(30);
        });
        var writes = Enumerable.Range(0, 500).Select(i => cluster.Db("a").StringSetAsync($"k{i}", "v")).ToArray();
        Assert.All(await Task.WhenAll(writes), Assert.True);
        Assert.Equal(0, cluster.Server("a").ClusterNode!.Hints.PendingFor("b"));
        Assert.Equal(0, cluster.Server("a").ClusterNode!.Hints.PendingFor("c"));
    }

    [Fact]
    public void Queue_TellsEachRequestDueOnceAndKeepsTheRestInOrder()
    {
        var queue = new WaitingQueue();
        var handler = new Recorder();
        queue.Enqueue(Request(handler, 1, deadline: 100, slowAt: 10));
        queue.Enqueue(Request(handler, 2, deadline: 50, slowAt: 0));
        queue.Enqueue(Request(handler, 3, deadline: 200, slowAt: 0));

        Assert.Equal("expired: slow:", Sweep(queue, 5));
        Assert.Equal("expired: slow:1", Sweep(queue, 10));
        Assert.Equal("expired: slow:", Sweep(queue, 20));

        // Taken for a slot and put back (its send refused): still the oldest, and still due at its deadline.
        Assert.True(queue.TryDequeue(out var first));
        queue.PushFront(first);
        Assert.Equal("expired:2 slow:", Sweep(queue, 50));
        Assert.Equal("expired:1 slow:", Sweep(queue, 100));
        Assert.True(queue.TryDequeue(out var last));
        Assert.Equal(3, last.Token);
        Assert.Equal(0, queue.Count);
    }

    private static WaitingRequest Request(IPeerReplyHandler handler, int token, long deadline, long slowAt) =>
        new(FrameType.Read, -1, "k"u8, default, default, deadline, slowAt, handler, token);

    /// <summary>One sweep at <paramref name="now"/>: the tokens it expired and those it found slow.</summary>
    private static string Sweep(WaitingQueue queue, long now)
    {
        List<WaitingRequest>? expired = null;
        List<WaitingRequest>? slow = null;
        queue.RemoveWhere(now, all: false, ref expired, ref slow);
        return $"expired:{string.Join(',', (expired ?? []).Select(r => r.Token))} slow:{string.Join(',', (slow ?? []).Select(r => r.Token))}";
    }

    private sealed class Recorder : IPeerReplyHandler
    {
        public ConcurrentDictionary<int, TaskCompletionSource> Slow { get; } = new() { [1] = new(TaskCreationOptions.RunContinuationsAsynchronously), [2] = new(TaskCreationOptions.RunContinuationsAsynchronously) };

        public ConcurrentQueue<(int Token, PeerFailure Failure)> Failures { get; } = new();

        public void OnReply(int token, FrameType type, ReadOnlySpan<byte> payload) => throw new InvalidOperationException("a hung peer replied");

        public void OnFailure(int token, PeerFailure failure) => Failures.Enqueue((token, failure));

        public void OnSlow(int token) => Slow[token].TrySetResult();
    }
}

using System.Collections.Concurrent;
using DataPlane.Store.Coordination;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Store.Tests;

/// <summary>The coordinator's pool of FASTER sessions: a session is single-threaded, so the pool must never lend one to two renters at once.</summary>
public sealed class SessionPoolTests : IDisposable
{
    private readonly string _directory = TestStore.NewDirectory();

    [Fact]
    public async Task RentAndReturn_FromFourThreads_NeverLendOneSessionTwice()
    {
        using var replica = new Replica.Replica(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), new FakeTimeProvider()));
        using var pool = new SessionPool(replica);
        var lent = new ConcurrentDictionary<ReplicaSession, bool>();
        var doubled = 0;

        void Use(int depth)
        {
            var session = pool.Rent();
            if (!lent.TryAdd(session, true))
            {
                Interlocked.Increment(ref doubled);
            }

            // A rent inside a rent, as a merge inside a read repair takes a second session.
            if (depth > 0)
            {
                Use(depth - 1);
            }

            lent.TryRemove(session, out _);
            pool.Return(session);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                Use(i % 3);
            }
        })));

        Assert.Equal(0, doubled);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

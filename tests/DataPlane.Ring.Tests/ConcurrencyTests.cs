using System.Diagnostics;

namespace DataPlane.Ring.Tests;

public class ConcurrencyTests
{
    [Fact]
    public async Task Readers_RacingAChurningWriter_NeverSeeATornRing()
    {
        // Odd nodes come and go while two readers look keys up. A consistent snapshot always answers
        // with a node it contains, and its token count matches its nodes. The race runs until every
        // reader made its lookups while the writer kept churning, bounded by a deadline.
        const int LookupsPerReader = 50_000;
        var ring = RingTestData.Ring(6, virtualNodes: 40);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var readersDone = 0;
        var changes = 0;
        var keys = RingTestData.Keys(1000);
        var writer = Task.Factory.StartNew(() =>
        {
            while (Volatile.Read(ref readersDone) < 2 && !deadline.IsCancellationRequested)
            {
                var node = $"churn-{changes % 5}";
                if (ring.Current.Contains(node))
                {
                    ring.Remove(node);
                }
                else
                {
                    ring.Add(node);
                }

                Interlocked.Increment(ref changes);
            }
        }, TaskCreationOptions.LongRunning);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
        {
            var replicas = new string[3];
            var lookups = 0;
            for (; lookups < LookupsPerReader && !deadline.IsCancellationRequested; lookups++)
            {
                var snapshot = ring.Current;
                Assert.Equal(snapshot.NodeCount * 40, snapshot.TokenCountTotal);
                var key = keys[lookups % keys.Length];
                Assert.True(snapshot.Contains(snapshot.GetOwner(key)));
                Assert.Equal(3, snapshot.GetReplicas(key, 3, replicas));
                Assert.All(replicas, n => Assert.True(snapshot.Contains(n)));
            }

            Interlocked.Increment(ref readersDone);
            return lookups;
        }, TaskCreationOptions.LongRunning)).ToArray();

        var read = await Task.WhenAll(readers);
        await writer;

        Assert.All(read, n => Assert.Equal(LookupsPerReader, n));
        Assert.True(changes > 10, $"the writer made only {changes} changes during the race");
    }

    [Fact]
    public async Task ConcurrentWriters_NeverLoseAnAdd()
    {
        var ring = new HashRing<string>(new RingOptions { VirtualNodes = 5 });
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                ring.Add($"w{w}-n{i}");
            }
        })));

        Assert.Equal(200, ring.Current.NodeCount);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30));
    }
}

using System.Diagnostics;
using System.Text;
using DataPlane.Ring;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// Load spread, keys moved on membership changes and lookup cost of the ring for several node and
/// virtual-node counts, with jump consistent hash over the same hashed keys as the lookup baseline.
/// </summary>
internal sealed class RingScenario : IScenario
{
    private static readonly int[] NodeCounts = [3, 10, 100];
    private static readonly int[] VirtualNodeCounts = [1, 10, 150, 1000];

    public string Name => "ring";

    public string Description => "consistent hash ring: load spread, keys moved, lookup ns/op against jump hash";

    public Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var keyCount = context.Quick ? 200_000 : 1_000_000;
        var lookups = context.Quick ? 2_000_000 : 10_000_000;
        var keys = new byte[keyCount][];
        for (var i = 0; i < keyCount; i++)
        {
            keys[i] = Encoding.UTF8.GetBytes($"user:{i:D8}");
        }

        var rows = new List<RingRow>();
        foreach (var n in NodeCounts)
        {
            foreach (var v in VirtualNodeCounts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows.Add(Measure(n, v, keys, lookups));
            }
        }

        var table = new Table("nodes", "vnodes", "stddev %", "max/mean", "moved on add", "ideal", "moved on remove", "ideal",
            "lookup ns", "jump ns", "ring/jump", "lookup ns (2 thr)", "jump ns (2 thr)");
        foreach (var r in rows)
        {
            table.Add(r.Nodes, r.Vnodes, r.StddevPct, r.MaxOverMean, r.MovedOnAdd, r.IdealOnAdd, r.MovedOnRemove, r.IdealOnRemove,
                r.LookupNs, r.JumpNs, r.LookupNs / r.JumpNs, r.LookupNs2Threads, r.JumpNs2Threads);
        }

        var markdown = $"""
            Ring over {keyCount:N0} keys `user:NNNNNNNN`; load spread exact from token arcs; lookups hash the key
            (XXH64) and find its owner, median of 5 rounds of {lookups:N0}; jump hash gets the same XXH64 hashing.

            {table}
            """;
        return Task.FromResult(new ScenarioReport(new { rows }, markdown));
    }

    private static RingRow Measure(int n, int v, byte[][] keys, int lookups)
    {
        var ring = new HashRing<string>(new RingOptions { VirtualNodes = v });
        for (var i = 0; i < n; i++)
        {
            ring.Add($"node-{i}");
        }

        var before = ring.Current;
        var shares = before.GetLoadShares();
        var mean = 1.0 / n;
        var stddev = Math.Sqrt(shares.Sum(s => (s - mean) * (s - mean)) / n);

        var (movedAdd, movedRemove) = MovedFractions(before, n, v, keys);
        return new RingRow(
            n, v, 100 * stddev / mean, shares.Max() / mean,
            movedAdd, 1.0 / (n + 1),
            movedRemove, 1.0 / n,
            Median(() => TimeRing(before, keys, lookups, 1)),
            Median(() => TimeJump(n, keys, lookups, 1)),
            Median(() => TimeRing(before, keys, lookups, 2)),
            Median(() => TimeJump(n, keys, lookups, 2)));
    }

    /// <summary>The fractions of <paramref name="keys"/> whose owner changes when node-N is added to <paramref name="before"/> (nodes node-0..node-(N-1)) and when node-(N/2) is removed.</summary>
    internal static (double OnAdd, double OnRemove) MovedFractions(RingSnapshot<string> before, int n, int v, byte[][] keys)
    {
        var added = new HashRing<string>(new RingOptions { VirtualNodes = v });
        var removed = new HashRing<string>(new RingOptions { VirtualNodes = v });
        for (var i = 0; i < n; i++)
        {
            added.Add($"node-{i}");
            if (i != n / 2)
            {
                removed.Add($"node-{i}");
            }
        }

        added.Add($"node-{n}");
        int movedAdd = 0, movedRemove = 0;
        foreach (var key in keys)
        {
            var owner = before.GetOwner(key);
            movedAdd += owner == added.Current.GetOwner(key) ? 0 : 1;
            movedRemove += owner == removed.Current.GetOwner(key) ? 0 : 1;
        }

        return ((double)movedAdd / keys.Length, (double)movedRemove / keys.Length);
    }

    private static double TimeRing(RingSnapshot<string> ring, byte[][] keys, int lookups, int threads) =>
        Time(threads, lookups, () =>
        {
            var sum = 0;
            for (var i = 0; i < lookups; i++)
            {
                sum += ring.GetOwner(keys[i & 0xFFFF]).Length;
            }

            return sum;
        });

    private static double TimeJump(int n, byte[][] keys, int lookups, int threads) =>
        Time(threads, lookups, () =>
        {
            var sum = 0;
            for (var i = 0; i < lookups; i++)
            {
                sum += JumpHash.Bucket(RingHash.Hash(keys[i & 0xFFFF]), n);
            }

            return sum;
        });

    /// <summary>ns per operation on each thread while <paramref name="threads"/> threads run the loop at once.</summary>
    private static double Time(int threads, int lookups, Func<int> loop)
    {
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        var sink = 0;
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                Interlocked.Add(ref sink, loop());
            });
            workers[t].Start();
        }

        start.SignalAndWait();
        var clock = Stopwatch.StartNew();
        foreach (var w in workers)
        {
            w.Join();
        }

        GC.KeepAlive(sink);
        return clock.Elapsed.TotalNanoseconds / lookups;
    }

    private static double Median(Func<double> measure)
    {
        measure();
        var rounds = new double[5];
        for (var i = 0; i < rounds.Length; i++)
        {
            rounds[i] = measure();
        }

        Array.Sort(rounds);
        return rounds[rounds.Length / 2];
    }

    private sealed record RingRow(
        int Nodes, int Vnodes, double StddevPct, double MaxOverMean,
        double MovedOnAdd, double IdealOnAdd, double MovedOnRemove, double IdealOnRemove,
        double LookupNs, double JumpNs, double LookupNs2Threads, double JumpNs2Threads);
}

using System.Diagnostics;
using System.Net;
using DataPlane.Ring;
using DataPlane.Store;
using DataPlane.Store.Cluster;
using DataPlane.Store.Membership;
using StackExchange.Redis;

namespace DataPlane.Bench.Scenarios.Rebalance;

/// <summary>
/// The cost of a membership change. Ring level: the fraction of keys whose owner changes when a node
/// is added to or removed from rings of 3, 10 and 100 nodes, against the ideal 1/(N+1) and 1/N. Store
/// level: a 3-node cluster (N=3, R=2, W=2, in this process) loaded with K keys under a steady client
/// load; a 4th node joins, then one node leaves. Per event: replica copies moved against the ideal
/// (the new node's share N/4 of all copies, the leaving node's share likewise), duration, client
/// ops/s and latency before, during and after, errors, and acknowledged writes lost (every key is read
/// at the end).
/// </summary>
internal sealed partial class RebalanceScenario : IScenario
{
    private const int ValueBytes = 100;
    private const double LoadOpsPerSecond = 2000;
    private const int VirtualNodes = 150;
    private static readonly int[] RingSizes = [3, 10, 100];

    public string Name => "rebalance";

    public string Description => "store: keys moved, latency and errors when a node joins and one leaves under load; ring: keys moved vs ideal";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var ring = RingSizes.Select(MeasureRing).ToList();
        // The issue's K: 1,000,000 keys (a few minutes, most of it loading), 100,000 with --quick.
        var keys = context.Quick ? 100_000 : 1_000_000;
        var root = Path.Combine(Path.GetTempPath(), "dp-bench-rebalance-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (events, timeline, errors) = await MeasureStoreAsync(root, keys, context.Quick, cancellationToken);
            var chart = RebalanceChart.Write(context.ResultsDirectory, timeline, events, $"{keys:N0} keys, N=3 R=2 W=2, {LoadOpsPerSecond:N0} client ops/s");
            return new ScenarioReport(new { ring, store = events }, Markdown(ring, events, keys, errors), [chart]);
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A file still held: the temp directory is cleaned later.
            }
        }
    }

    private static RingRow MeasureRing(int n)
    {
        var keys = Enumerable.Range(0, 100_000).Select(i => System.Text.Encoding.ASCII.GetBytes($"key:{i}")).ToArray();
        var before = new HashRing<string>(new RingOptions { VirtualNodes = VirtualNodes });
        for (var i = 0; i < n; i++)
        {
            before.Add($"node-{i}");
        }

        var (onAdd, onRemove) = RingScenario.MovedFractions(before.Current, n, VirtualNodes, keys);
        return new RingRow(n, onAdd, 1.0 / (n + 1), onRemove, 1.0 / n);
    }

    private static async Task<(List<StoreEvent> Events, List<Second> Timeline, List<string> Errors)> MeasureStoreAsync(string root, int keys, bool quick, CancellationToken cancellationToken)
    {
        var settle = TimeSpan.FromSeconds(quick ? 3 : 5);
        var taken = new HashSet<int>();
        var peers = new Dictionary<string, IPEndPoint>();
        foreach (var name in (string[])["a", "b", "c", "d"])
        {
            peers[name] = StoreClusterScenario.FreePort(taken);
        }

        var nodes = new Dictionary<string, StoreServer>();
        try
        {
            foreach (var name in (string[])["a", "b", "c"])
            {
                var options = new ClusterOptions { NodeId = name, PeerListen = peers[name] };
                foreach (var other in (string[])["a", "b", "c"])
                {
                    if (other != name)
                    {
                        options.Peers[other] = peers[other];
                    }
                }

                nodes[name] = await StartNodeAsync(root, name, StoreClusterScenario.FreePort(taken), options, cancellationToken);
            }

            await WaitAsync(() => nodes.Values.All(n => n.ClusterNode!.Peers.All(p => !p.Suspected)), "the nodes connect", cancellationToken);
            using var client = await ConnectionMultiplexer.ConnectAsync($"{nodes["a"].EndPoint},syncTimeout=30000,asyncTimeout=30000");
            var db = client.GetDatabase();
            await PreloadAsync(db, keys);

            var load = new SteadyLoad(db, keys, clients: 8, LoadOpsPerSecond);
            var events = new List<StoreEvent>();
            var windows = new List<(double Start, double End)>();
            await Task.Delay(settle, cancellationToken);

            // A 4th node joins through a.
            var join = load.Now;
            var moved = Moved(nodes);
            var total = keys + load.Written.Count;
            nodes["d"] = await StartNodeAsync(root, "d", StoreClusterScenario.FreePort(taken), new ClusterOptions { NodeId = "d", PeerListen = peers["d"], Join = peers["a"] }, cancellationToken);
            await WaitStableAsync(nodes.Values, 4, cancellationToken);
            var joined = load.Now;
            var afterJoin = Moved(nodes);
            windows.Add((join, joined));
            await Task.Delay(settle, cancellationToken);

            // Then c leaves.
            var leave = load.Now;
            var leaveTotal = keys + load.Written.Count;
            await ClusterAdmin.LeaveAsync(peers["a"], "dataplane", "c", TimeSpan.FromMinutes(5), cancellationToken);
            await WaitStableAsync(nodes.Values, 3, cancellationToken);
            var left = load.Now;
            var afterLeave = Moved(nodes);
            windows.Add((leave, left));
            await Task.Delay(settle, cancellationToken);
            var end = load.Now;
            await load.StopAsync();

            var lost = await CountLostAsync(db, keys, load);
            var bytesPerKey = (double)(afterJoin.Bytes - moved.Bytes) / Math.Max(1, afterJoin.Keys - moved.Keys);
            events.Add(Event("join", afterJoin.Keys - moved.Keys, total * 3 / 4, afterJoin.Bytes - moved.Bytes, bytesPerKey * total * 3 / 4, join, joined, joined + settle.TotalSeconds, load, lost));
            events.Add(Event("leave", afterLeave.Keys - afterJoin.Keys, leaveTotal * 3 / 4, afterLeave.Bytes - afterJoin.Bytes, bytesPerKey * leaveTotal * 3 / 4, leave, left, end, load, lost));
            return (events, Timeline(load, end), [.. load.FirstErrors]);
        }
        finally
        {
            foreach (var node in nodes.Values)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static string Markdown(List<RingRow> ring, List<StoreEvent> events, int keys, List<string> errors)
    {
        var ringTable = new Table("nodes", "moved on add", "ideal 1/(N+1)", "moved on remove", "ideal 1/N");
        foreach (var r in ring)
        {
            ringTable.Add(r.Nodes, r.MovedOnAdd, r.IdealOnAdd, r.MovedOnRemove, r.IdealOnRemove);
        }

        var storeTable = new Table("event", "keys moved", "ideal", "moved/ideal", "MB moved", "seconds", "ops/s before", "ops/s during", "ops/s after",
            "p50 ms before", "p50 ms during", "p99 ms before", "p99 ms during", "p99 ms after", "p99 during/before", "errors", "lost");
        foreach (var e in events)
        {
            storeTable.Add(e.Event, e.KeysMoved, e.IdealKeysMoved, e.MovedOverIdeal, e.BytesMoved / 1048576.0, e.Seconds, e.OpsBefore, e.OpsDuring, e.OpsAfter,
                e.P50MsBefore, e.P50MsDuring, e.P99MsBefore, e.P99MsDuring, e.P99MsAfter, e.P99MsDuring / Math.Max(e.P99MsBefore, 0.001), e.Errors, e.Lost);
        }

        return $"""
            Ring level (100,000 keys, 150 virtual nodes): fraction of keys whose owner changes.

            {ringTable}

            Store level: 3 nodes in this process (N=3, R=2, W=2, Q=4096), {keys:N0} keys of {ValueBytes} bytes, a steady
            load of {LoadOpsPerSecond:N0} ops/s (half GET of a loaded key, half SET of a new key) from 8 clients on node a;
            node d joins through a, then c leaves. Keys moved = replica copies received; ideal = N/4 of all keys' copies
            (the joining node's share, then the leaving node's). Lost = loaded or acknowledged keys not read back at the end.
            Chart: {RebalanceChart.File}.

            {storeTable}
            {(errors.Count == 0 ? string.Empty : "\nFirst client errors (seconds into the load):\n\n" + string.Join("\n", errors.Select(e => "- " + e)) + "\n")}
            """;
    }

    private static StoreEvent Event(string name, long keysMoved, long ideal, long bytesMoved, double idealBytes, double start, double end, double after, SteadyLoad load, long lost)
    {
        var before = Window(load, start - (after - end), start);
        var during = Window(load, start, end);
        var later = Window(load, end, after);
        return new StoreEvent(
            name, keysMoved, ideal, Math.Round((double)keysMoved / ideal, 3), bytesMoved, (long)idealBytes, Math.Round(start, 2), Math.Round(end - start, 2),
            before.Ops, during.Ops, later.Ops, before.P50, during.P50, later.P50, before.P99, during.P99, later.P99,
            load.Errors, lost);
    }

    private static (double Ops, double P50, double P99) Window(SteadyLoad load, double from, double to)
    {
        var samples = load.Samples.Where(s => s.At >= from && s.At < to).Select(s => s.Ms).Order().ToArray();
        if (samples.Length == 0)
        {
            return (0, 0, 0);
        }

        return (Math.Round(samples.Length / Math.Max(to - from, 0.001)), Math.Round(samples[samples.Length / 2], 3), Math.Round(samples[(int)(samples.Length * 0.99)], 3));
    }

    private static List<Second> Timeline(SteadyLoad load, double end)
    {
        var seconds = new List<Second>();
        for (var t = 0; t < (int)end; t++)
        {
            var w = Window(load, t, t + 1);
            seconds.Add(new Second(t, w.Ops, w.P99));
        }

        return seconds;
    }

    private static (long Keys, long Bytes) Moved(Dictionary<string, StoreServer> nodes) =>
        (nodes.Values.Sum(n => n.ClusterNode!.Rebalance.KeysMoved), nodes.Values.Sum(n => n.ClusterNode!.Rebalance.BytesMoved));

    private static async Task PreloadAsync(IDatabase db, int keys)
    {
        var value = new string('v', ValueBytes);
        const int Window = 2000;
        for (var i = 0; i < keys; i += Window)
        {
            var batch = new Task[Math.Min(Window, keys - i)];
            for (var j = 0; j < batch.Length; j++)
            {
                batch[j] = db.StringSetAsync($"key:{i + j}", value);
            }

            await Task.WhenAll(batch);
        }
    }

    /// <summary>Reads every loaded key and every acknowledged live write: a missing or different value is lost.</summary>
    private static async Task<long> CountLostAsync(IDatabase db, int keys, SteadyLoad load)
    {
        var lost = 0L;
        var value = new string('v', ValueBytes);
        const int Window = 2000;
        var all = Enumerable.Range(0, keys).Select(i => ($"key:{i}", value)).Concat(load.Written.Select(w => (w.Key, w.Value))).ToArray();
        for (var i = 0; i < all.Length; i += Window)
        {
            var slice = all.AsMemory(i, Math.Min(Window, all.Length - i));
            var reads = new Task<RedisValue>[slice.Length];
            for (var j = 0; j < reads.Length; j++)
            {
                reads[j] = db.StringGetAsync(slice.Span[j].Item1);
            }

            await Task.WhenAll(reads);
            for (var j = 0; j < reads.Length; j++)
            {
                lost += reads[j].Result == slice.Span[j].Item2 ? 0 : 1;
            }
        }

        return lost;
    }

    private static async Task<StoreServer> StartNodeAsync(string root, string name, IPEndPoint listen, ClusterOptions options, CancellationToken cancellationToken)
    {
        var server = new StoreServer(new StoreOptions { Listen = listen, DataDirectory = Path.Combine(root, name), MaxMemory = 512L << 20, Cluster = options });
        await server.StartAsync(cancellationToken);
        return server;
    }

    private static Task WaitStableAsync(IEnumerable<StoreServer> nodes, int members, CancellationToken cancellationToken) =>
        WaitAsync(
            () => nodes.All(n => n.ClusterNode!.View.Membership is { IsTransitional: false } m && m.Members.Count == members)
                && nodes.Select(n => n.ClusterNode!.Epoch).Distinct().Count() == 1,
            $"a stable epoch of {members} members",
            cancellationToken);

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using DataPlane.Log;
using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;
using DataPlane.Log.Producer;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// Consumer-group rebalances under a steady produce load, 3 -> 4 -> 3 consumers over 12 partitions: the time from a
/// member joining or leaving until every partition is owned once and consumed again, how many partitions were paused
/// (revoked) meanwhile, and records consumed per second during the rebalance, eager (range) against cooperative-sticky.
/// </summary>
internal sealed class GroupsScenario : IScenario
{
    private const string Topic = "load";

    public string Name => "groups";

    public string Description => "consumer groups: rebalance ms and records/s during it, range (eager) vs cooperative-sticky, 3 -> 4 -> 3 over 12 partitions";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var rounds = context.Quick ? 1 : 3;
        var rows = new List<RebalanceRow>();
        foreach (var strategy in new[] { PartitionAssignmentStrategy.Range, PartitionAssignmentStrategy.CooperativeSticky })
        {
            for (var round = 0; round < rounds; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows.AddRange(await RunRound(strategy, cancellationToken));
            }
        }

        var summary = rows.GroupBy(r => (r.Strategy, r.Event)).Select(g => new RebalanceRow(
            g.Key.Strategy, g.Key.Event, Median(g.Select(r => r.Ms)), (int)Median(g.Select(r => (double)r.PausedPartitions)),
            Median(g.Select(r => r.RecordsPerSecond)), Median(g.Select(r => r.SteadyRecordsPerSecond)),
            Median(g.Select(r => r.MedianStallMs)), Median(g.Select(r => r.MaxStallMs)))).ToList();
        var table = new Table("strategy", "event", "rebalance ms", "paused partitions", "median partition stall ms", "max stall ms",
            "records/s during", "records/s steady", "during/steady");
        foreach (var r in summary)
        {
            table.Add(r.Strategy, r.Event, r.Ms, r.PausedPartitions, r.MedianStallMs, r.MaxStallMs, r.RecordsPerSecond, r.SteadyRecordsPerSecond,
                r.RecordsPerSecond / r.SteadyRecordsPerSecond);
        }

        var markdown = $"""
            12 partitions, a producer appending 20 records of 100 bytes per 1 ms timer tick, consumers with 100 ms heartbeats; median of {rounds} round(s).
            Rebalance ms: from the 4th consumer's Subscribe (join) or a consumer's close (leave) until every partition is owned
            once and has delivered a record appended after the event. Paused partitions: partitions revoked meanwhile.
            Partition stall: per partition, the longest gap between two deliveries during the rebalance (median and max over
            the 12). Records/s during includes the catch-up of what piled up while partitions were paused.
            The steady rate (same run, one second before the join) is the baseline of the during/steady ratio.

            {table}
            """;
        return new ScenarioReport(new { rebalance = summary }, markdown);
    }

    private static async Task<List<RebalanceRow>> RunRound(PartitionAssignmentStrategy strategy, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(Path.GetTempPath(), "dataplane-groups-bench-" + Guid.NewGuid().ToString("N"));
        var name = strategy == PartitionAssignmentStrategy.Range ? "range" : "cooperative-sticky";
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = dir });
        log.CreateTopic(Topic, 12, new TopicConfig { FlushPolicy = FlushPolicy.PageCache });
        await using var coordinator = GroupCoordinator.Open(log, new GroupCoordinatorOptions
        {
            InitialRebalanceDelay = TimeSpan.Zero,
            MinSessionTimeout = TimeSpan.FromSeconds(1),
        });
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var lastSeen = new ConcurrentDictionary<int, long>();
        var maxGap = new long[12];
        var consumed = 0L;
        var paused = 0;
        var producing = Task.Run(() => Produce(log, stop.Token), CancellationToken.None);
        var consumers = new List<(LogConsumer Consumer, Task Loop)>();

        void Start()
        {
            var consumer = new LogConsumer(coordinator, new LogConsumerOptions
            {
                GroupId = "bench",
                AssignmentStrategy = strategy,
                SessionTimeout = TimeSpan.FromSeconds(10),
                HeartbeatInterval = TimeSpan.FromMilliseconds(100),
                FetchWait = TimeSpan.FromMilliseconds(5),
                AutoOffsetReset = AutoOffsetReset.Latest,
            });
            consumer.PartitionsRevoked = async ps =>
            {
                Interlocked.Add(ref paused, ps.Count);
                await consumer.CommitAsync();
            };
            consumer.Subscribe([Topic]);
            consumers.Add((consumer, Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var r = await consumer.ConsumeAsync(stop.Token);
                        Interlocked.Increment(ref consumed);
                        var now = clock.ElapsedTicks;
                        var p = r.Partition.Partition;
                        if (lastSeen.TryGetValue(p, out var previous))
                        {
                            InterlockedMax(ref maxGap[p], now - previous);
                        }

                        lastSeen[p] = now;
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    // Stopped.
                }
            }, CancellationToken.None)));
        }

        async Task<RebalanceRow> Measure(string evt, Func<Task> act, double steady)
        {
            await WaitStable(consumers.Select(c => c.Consumer).ToList(), lastSeen, clock, clock.ElapsedTicks, cancellationToken);
            Interlocked.Exchange(ref paused, 0);
            Array.Clear(maxGap);
            var before = Interlocked.Read(ref consumed);
            var start = clock.ElapsedTicks;
            await act();
            await WaitStable(consumers.Select(c => c.Consumer).ToList(), lastSeen, clock, clock.ElapsedTicks, cancellationToken);
            var seconds = (clock.ElapsedTicks - start) / (double)Stopwatch.Frequency;
            var stalls = maxGap.Select(g => g * 1000.0 / Stopwatch.Frequency).ToArray();
            return new RebalanceRow(
                name, evt, seconds * 1000, Volatile.Read(ref paused), (Interlocked.Read(ref consumed) - before) / seconds, steady,
                Median(stalls), stalls.Max());
        }

        Start();
        Start();
        Start();
        await WaitStable(consumers.Select(c => c.Consumer).ToList(), lastSeen, clock, clock.ElapsedTicks, cancellationToken);
        var steadyFrom = Interlocked.Read(ref consumed);
        var steadyClock = Stopwatch.StartNew();
        using (var second = new PeriodicTimer(TimeSpan.FromSeconds(1)))
        {
            await second.WaitForNextTickAsync(cancellationToken);
        }

        var steady = (Interlocked.Read(ref consumed) - steadyFrom) / steadyClock.Elapsed.TotalSeconds;
        var rows = new List<RebalanceRow>
        {
            await Measure("join", () =>
            {
                Start();
                return Task.CompletedTask;
            }, steady),
        };
        var leaving = consumers[0];
        rows.Add(await Measure("leave", async () =>
        {
            consumers.RemoveAt(0);
            await leaving.Consumer.DisposeAsync();
        }, steady));

        await stop.CancelAsync();
        await producing;
        foreach (var (consumer, loop) in consumers.Append(leaving))
        {
            await consumer.DisposeAsync();
            await loop;
        }

        await coordinator.DisposeAsync();
        await log.DisposeAsync();
        Directory.Delete(dir, recursive: true);
        return rows;
    }

    private static async Task WaitStable(
        List<LogConsumer> consumers, ConcurrentDictionary<int, long> lastSeen, Stopwatch clock, long since, CancellationToken cancellationToken)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        var limit = clock.ElapsedTicks + (60 * Stopwatch.Frequency);
        while (true)
        {
            var owned = consumers.SelectMany(c => c.Assignment).ToList();
            if (owned.Count == 12 && owned.Distinct().Count() == 12 && consumers.All(c => c.Assignment.Count >= 12 / consumers.Count)
                && Enumerable.Range(0, 12).All(p => lastSeen.TryGetValue(p, out var t) && t > since))
            {
                return;
            }

            if (clock.ElapsedTicks > limit)
            {
                throw new TimeoutException("The group did not settle within 60 s.");
            }

            await poll.WaitForNextTickAsync(cancellationToken);
        }
    }

    private static async Task Produce(CommitLog log, CancellationToken stop)
    {
        await using var producer = new LogProducer(log, Topic, batchBytes: 4096);
        var value = Encoding.UTF8.GetBytes(new string('v', 100));
        var i = 0;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        while (!stop.IsCancellationRequested)
        {
            for (var n = 0; n < 20; n++)
            {
                await producer.AddAsync(Encoding.UTF8.GetBytes("k" + i++), value, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            }

            await producer.FlushAsync();
            try
            {
                await tick.WaitForNextTickAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private sealed record RebalanceRow(
        string Strategy, string Event, double Ms, int PausedPartitions, double RecordsPerSecond, double SteadyRecordsPerSecond,
        double MedianStallMs, double MaxStallMs);
}

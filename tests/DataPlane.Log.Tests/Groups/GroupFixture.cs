using System.Collections.Concurrent;
using System.Text;
using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;
using DataPlane.Log.Producer;
using DataPlane.Testing;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Log.Tests.Groups;

/// <summary>A log with a 12-partition topic, a coordinator and consumers, all on one fake clock that the waits advance.</summary>
internal sealed class GroupFixture : IAsyncDisposable
{
    public const string Topic = "events";
    public const string Group = "workers";
    public static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir = new();
    private readonly List<LogConsumer> _consumers = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();

    public GroupFixture(TimeSpan? initialDelay = null)
    {
        Open(initialDelay ?? TimeSpan.Zero);
        Log.CreateTopic(Topic, 12, new TopicConfig { FlushPolicy = FlushPolicy.PageCache });
    }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    public CommitLog Log { get; private set; } = null!;

    public GroupCoordinator Coordinator { get; private set; } = null!;

    /// <summary>Every record handed out: (consumer name, partition, offset).</summary>
    public ConcurrentQueue<(string Name, TopicPartition Partition, long Offset)> Consumed { get; } = new();

    /// <summary>Problems the consumer loops found (checked by the tests).</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    public LogConsumer NewConsumer(string name, PartitionAssignmentStrategy strategy, string? instanceId = null, bool run = true)
    {
        var consumer = new LogConsumer(Coordinator, new LogConsumerOptions
        {
            GroupId = Group,
            GroupInstanceId = instanceId,
            ClientId = name,
            AssignmentStrategy = strategy,
            SessionTimeout = SessionTimeout,
            HeartbeatInterval = TimeSpan.FromSeconds(3),
            RebalanceTimeout = TimeSpan.FromMinutes(30),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        });
        var fresh = new ConcurrentDictionary<TopicPartition, bool>();
        consumer.PartitionsAssigned = ps =>
        {
            foreach (var tp in ps)
            {
                fresh[tp] = true;
            }

            return ValueTask.CompletedTask;
        };
        consumer.PartitionsRevoked = async ps =>
        {
            var error = await consumer.CommitAsync();
            if (error != GroupError.None)
            {
                Violations.Enqueue($"{name} could not commit on revoke: {error}");
            }
        };
        _consumers.Add(consumer);
        consumer.Subscribe([Topic]);
        if (run)
        {
            _loops.Add(Task.Run(() => RunAsync(name, consumer, fresh)));
        }

        return consumer;
    }

    public async Task ProduceAsync(int count, int from = 0)
    {
        await using var producer = new LogProducer(Log, Topic);
        for (var i = from; i < from + count; i++)
        {
            await producer.AddAsync(Encoding.UTF8.GetBytes("key-" + i), Encoding.UTF8.GetBytes("value-" + i), 0);
        }
    }

    /// <summary>Advances the fake clock a step per poll until <paramref name="condition"/> holds.</summary>
    public Task Until(Func<bool> condition, string what) =>
        Eventually.True(() =>
        {
            Time.Advance(TimeSpan.FromMilliseconds(250));
            return condition();
        }, what, TimeSpan.FromSeconds(40));

    /// <summary>True when the group is stable and the given consumers own every partition exactly once, evenly.</summary>
    public static bool OwnAllEvenly(params LogConsumer[] consumers)
    {
        var owned = consumers.SelectMany(c => c.Assignment).ToList();
        var min = 12 / consumers.Length;
        return owned.Count == 12 && owned.Distinct().Count() == 12
            && consumers.All(c => c.Assignment.Count >= min && c.Assignment.Count <= min + (12 % consumers.Length == 0 ? 0 : 1));
    }

    public async Task RestartAsync()
    {
        await Coordinator.DisposeAsync();
        await Log.DisposeAsync();
        Open(TimeSpan.Zero);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var consumer in _consumers)
        {
            await consumer.AbandonAsync();
        }

        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(30));
        await Coordinator.DisposeAsync();
        await Log.DisposeAsync();
        _dir.Dispose();
    }

    private void Open(TimeSpan initialDelay)
    {
        Log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path, TimeProvider = Time });
        Coordinator = GroupCoordinator.Open(Log, new GroupCoordinatorOptions
        {
            TimeProvider = Time,
            InitialRebalanceDelay = initialDelay,
            OffsetsSegmentBytes = 4096,
            OffsetsTopicPartitions = 2,
        });
    }

    private async Task RunAsync(string name, LogConsumer consumer, ConcurrentDictionary<TopicPartition, bool> fresh)
    {
        var sinceCommit = 0;
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult record;
            try
            {
                record = await consumer.ConsumeAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or GroupException)
            {
                return;
            }

            if (fresh.TryRemove(record.Partition, out _))
            {
                var expected = Coordinator.FetchOffsets(Group, [record.Partition]).TryGetValue(record.Partition, out var c) ? c.Offset : 0;
                if (record.Offset != expected)
                {
                    Violations.Enqueue($"{name} started {record.Partition} at {record.Offset}, last commit {expected}");
                }
            }

            Consumed.Enqueue((name, record.Partition, record.Offset));
            if (++sinceCommit == 25)
            {
                sinceCommit = 0;
                await consumer.CommitAsync();
            }
        }
    }
}

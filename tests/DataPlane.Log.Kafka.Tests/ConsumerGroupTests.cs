using System.Collections.Concurrent;
using Confluent.Kafka;

namespace DataPlane.Log.Kafka.Tests;

public sealed class ConsumerGroupTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(PartitionAssignmentStrategy.Range)]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky)]
    public async Task ThreeConsumersSharePartitionsCommitAndSurviveALeave(PartitionAssignmentStrategy strategy)
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "shared", 6);
        await ProduceConsumeTests.ProduceAsync(broker, "shared", 600, CompressionType.None);
        var group = "group-" + strategy;
        var members = Enumerable.Range(0, 3).Select(_ => new Member(broker, group, strategy)).ToList();
        try
        {
            await Eventually.True(() => members.Sum(m => m.Distinct) >= 600, "all 600 messages consumed by the group", Patience);
            await Eventually.True(() => members.All(m => m.Assigned == 2), "six partitions shared two by two", Patience);
            Assert.Equal(600, members.SelectMany(m => m.Values).Distinct().Count());

            await members[0].StopAsync();
            await Eventually.True(() => members[1].Assigned + members[2].Assigned == 6, "the two left take every partition", Patience);
            await ProduceConsumeTests.ProduceAsync(broker, "shared", 300, CompressionType.None, first: 600);
            await Eventually.True(
                () => members.SelectMany(m => m.Values).Distinct().Count() >= 900, "the messages after the leave consumed", Patience);
        }
        finally
        {
            foreach (var member in members)
            {
                await member.StopAsync();
            }
        }

        var committed = broker.Server.Coordinator.FetchOffsets(group);
        Assert.Equal(6, committed.Count);
        Assert.Equal(900, committed.Values.Sum(c => c.Offset));
    }

    [Fact]
    public async Task AfterARestartTheGroupResumesFromItsCommittedOffsets()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "durable", 3);
        await ProduceConsumeTests.ProduceAsync(broker, "durable", 150, CompressionType.None);
        var first = new Member(broker, "resumer", PartitionAssignmentStrategy.Range);
        await Eventually.True(() => first.Distinct >= 150, "the first 150 consumed", Patience);
        await first.StopAsync();

        await broker.RestartAsync();
        var sent = await ProduceConsumeTests.ProduceAsync(broker, "durable", 60, CompressionType.None, first: 150);
        var second = new Member(broker, "resumer", PartitionAssignmentStrategy.Range);
        try
        {
            await Eventually.True(() => second.Distinct >= 60, "the 60 produced after the restart consumed", Patience);
            Assert.Equal(sent.Select(s => s.Value).Order(), second.Values.Distinct().Order());
        }
        finally
        {
            await second.StopAsync();
        }
    }

    /// <summary>One group member polling on its own thread, committing after every message it processes.</summary>
    private sealed class Member
    {
        private readonly ConcurrentQueue<string> _values = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _assigned;

        public Member(Broker broker, string group, PartitionAssignmentStrategy strategy)
        {
            var config = new ConsumerConfig
            {
                BootstrapServers = broker.Bootstrap,
                GroupId = group,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                EnableAutoCommit = true,
                AutoCommitIntervalMs = 100,
                PartitionAssignmentStrategy = strategy,
                SessionTimeoutMs = 10_000,
                HeartbeatIntervalMs = 500,
            };
            _loop = Task.Factory.StartNew(() => Run(config), TaskCreationOptions.LongRunning);
        }

        public int Assigned => Volatile.Read(ref _assigned);

        public IEnumerable<string> Values => _values;

        public int Distinct => _values.Distinct().Count();

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(Patience);
        }

        private void Run(ConsumerConfig config)
        {
            using var consumer = new ConsumerBuilder<Ignore, string>(config).Build();
            consumer.Subscribe(config.GroupId == "resumer" ? "durable" : "shared");
            while (!_stop.IsCancellationRequested)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } result)
                {
                    _values.Enqueue(result.Message.Value);
                }

                Volatile.Write(ref _assigned, consumer.Assignment.Count);
            }

            consumer.Close();
        }
    }
}

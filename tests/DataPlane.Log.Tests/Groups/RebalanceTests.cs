using System.Collections.Concurrent;
using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Tests.Groups;

public class RebalanceTests
{
    private static readonly string[] Names = ["a", "b", "c"];

    [Theory]
    [InlineData(PartitionAssignmentStrategy.Range)]
    [InlineData(PartitionAssignmentStrategy.RoundRobin)]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky)]
    public async Task ThreeConsumers_ShareTwelveEvenly_ThenAFourthJoins_ThenOneLeaves(PartitionAssignmentStrategy strategy)
    {
        await using var f = new GroupFixture();
        var a = f.NewConsumer("a", strategy);
        var b = f.NewConsumer("b", strategy);
        var c = f.NewConsumer("c", strategy);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c), "three consumers own four partitions each");

        var d = f.NewConsumer("d", strategy);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c, d), "four consumers own three partitions each");

        var left = b.Assignment.ToList();
        await b.DisposeAsync();
        await f.Until(() => GroupFixture.OwnAllEvenly(a, c, d), "the three remaining own four each");
        Assert.All(left, tp => Assert.Contains(tp, a.Assignment.Concat(c.Assignment).Concat(d.Assignment)));
        Assert.Empty(f.Violations);
    }

    [Fact]
    public async Task ConsumerThatStopsHeartbeating_LosesItsPartitionsOnlyAfterTheSessionTimeout()
    {
        await using var f = new GroupFixture();
        var a = f.NewConsumer("a", PartitionAssignmentStrategy.Range);
        var b = f.NewConsumer("b", PartitionAssignmentStrategy.Range);
        var c = f.NewConsumer("c", PartitionAssignmentStrategy.Range);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c), "three consumers own four partitions each");
        var generation = f.Coordinator.DescribeGroup(GroupFixture.Group).GenerationId;

        await c.AbandonAsync();
        f.Time.Advance(GroupFixture.SessionTimeout - TimeSpan.FromSeconds(1));
        var before = f.Coordinator.DescribeGroup(GroupFixture.Group);
        Assert.Equal((GroupState.Stable, generation, 3), (before.State, before.GenerationId, before.Members.Count));

        await f.Until(() => GroupFixture.OwnAllEvenly(a, b), "the two live consumers own six partitions each");
        Assert.Equal(2, f.Coordinator.DescribeGroup(GroupFixture.Group).Members.Count);
    }

    [Fact]
    public async Task CooperativeSticky_NeverRevokesAPartitionThatDoesNotMove()
    {
        await using var f = new GroupFixture();
        var revoked = new ConcurrentDictionary<string, ConcurrentQueue<TopicPartition>>();
        var consumers = new List<LogConsumer>();
        LogConsumer Start(string name)
        {
            var consumer = f.NewConsumer(name, PartitionAssignmentStrategy.CooperativeSticky);
            var inner = consumer.PartitionsRevoked!;
            var log = revoked.GetOrAdd(name, _ => new ConcurrentQueue<TopicPartition>());
            consumer.PartitionsRevoked = async ps =>
            {
                foreach (var tp in ps)
                {
                    log.Enqueue(tp);
                }

                await inner(ps);
            };
            consumers.Add(consumer);
            return consumer;
        }

        var a = Start("a");
        var b = Start("b");
        var c = Start("c");
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c), "three consumers own four partitions each");
        foreach (var queue in revoked.Values)
        {
            queue.Clear();
        }

        var before = new[] { a, b, c }.ToDictionary(x => x.MemberId, x => x.Assignment.ToHashSet());

        var d = Start("d");
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c, d), "four consumers own three partitions each");
        foreach (var (name, consumer) in new[] { ("a", a), ("b", b), ("c", c) })
        {
            // Each gave up exactly the one partition that moved to the newcomer, and kept the rest throughout.
            var gave = revoked.GetValueOrDefault(name)?.ToList() ?? [];
            Assert.Single(gave);
            Assert.Contains(gave[0], d.Assignment);
            Assert.True(consumer.Assignment.ToHashSet().IsSubsetOf(before[consumer.MemberId]));
        }

        foreach (var queue in revoked.Values)
        {
            queue.Clear();
        }

        await d.DisposeAsync();
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c), "the three own four each again");
        Assert.All(Names, name => Assert.Empty(revoked.GetValueOrDefault(name) ?? new ConcurrentQueue<TopicPartition>()));
        Assert.Empty(f.Violations);
    }

    [Fact]
    public async Task StaticMember_RestartsWithoutARebalance_AndADuplicateInstanceFencesTheOld()
    {
        await using var f = new GroupFixture();
        var a = f.NewConsumer("a", PartitionAssignmentStrategy.Range, instanceId: "host-a");
        var b = f.NewConsumer("b", PartitionAssignmentStrategy.Range, instanceId: "host-b");
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b), "two static members own six partitions each");
        var generation = f.Coordinator.DescribeGroup(GroupFixture.Group).GenerationId;
        var owned = a.Assignment.ToList();

        await a.DisposeAsync(); // a static member does not leave the group
        var restarted = f.NewConsumer("a2", PartitionAssignmentStrategy.Range, instanceId: "host-a", run: false);
        await f.Until(() => restarted.Assignment.SequenceEqual(owned), "the restarted instance gets its partitions back");
        Assert.Equal(generation, f.Coordinator.DescribeGroup(GroupFixture.Group).GenerationId);
        Assert.Equal(6, b.Assignment.Count);

        var duplicate = f.NewConsumer("a3", PartitionAssignmentStrategy.Range, instanceId: "host-a", run: false);
        await f.Until(() => duplicate.Assignment.SequenceEqual(owned), "the newest instance owns the partitions");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var consume = restarted.ConsumeAsync(timeout.Token).AsTask();
        await f.Until(() => consume.IsCompleted, "the old instance learns it is fenced");
        var fenced = await Assert.ThrowsAsync<GroupException>(() => consume);
        Assert.Equal(GroupError.FencedInstanceId, fenced.Error);
        Assert.Equal(generation, f.Coordinator.DescribeGroup(GroupFixture.Group).GenerationId);
    }
}

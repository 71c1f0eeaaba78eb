using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Tests.Groups;

public class DeliveryTests
{
    [Theory]
    [InlineData(PartitionAssignmentStrategy.Range)]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky)]
    public async Task EveryRecordIsConsumed_AcrossJoinsLeavesAndCrashes_AndNewOwnersStartAtTheCommit(PartitionAssignmentStrategy strategy)
    {
        await using var f = new GroupFixture();
        await f.ProduceAsync(300);
        var a = f.NewConsumer("a", strategy);
        var b = f.NewConsumer("b", strategy);
        var c = f.NewConsumer("c", strategy);
        await f.Until(() => f.Consumed.Count >= 100, "the group is consuming");

        await f.ProduceAsync(300, from: 300);
        var d = f.NewConsumer("d", strategy);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, b, c, d), "a fourth consumer joined");
        await b.DisposeAsync();
        await f.ProduceAsync(300, from: 600);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, c, d), "a consumer left");
        await c.AbandonAsync();
        await f.ProduceAsync(300, from: 900);
        await f.Until(() => GroupFixture.OwnAllEvenly(a, d), "a crashed consumer's partitions moved");

        var produced = Enumerable.Range(0, 12).SelectMany(p =>
        {
            var end = f.Log.GetOffsets(GroupFixture.Topic, p).HighWatermark;
            return Enumerable.Range(0, (int)end).Select(o => (new TopicPartition(GroupFixture.Topic, p), (long)o));
        }).ToHashSet();
        Assert.Equal(1200, produced.Count);
        await f.Until(() => produced.IsSubsetOf(f.Consumed.Select(r => (r.Partition, r.Offset))), "every produced record was consumed");
        Assert.Empty(f.Violations);
    }

    [Fact]
    public async Task AutoOffsetResetLatest_SkipsWhatCameBefore_AndSeekToBeginningRereads()
    {
        await using var f = new GroupFixture();
        await f.ProduceAsync(24);
        var consumer = new LogConsumer(f.Coordinator, new LogConsumerOptions
        {
            GroupId = "latest",
            SessionTimeout = GroupFixture.SessionTimeout,
            AutoOffsetReset = AutoOffsetReset.Latest,
        });
        consumer.Subscribe([GroupFixture.Topic]);
        await f.Until(() => consumer.Assignment.Count == 12, "assigned");
        Assert.All(consumer.Assignment, tp => Assert.Equal(f.Log.GetOffsets(tp.Topic, tp.Partition).HighWatermark, consumer.Position(tp)));

        var tp0 = consumer.Assignment.First(tp => f.Log.GetOffsets(tp.Topic, tp.Partition).HighWatermark > 0);
        consumer.SeekToBeginning([tp0]);
        var record = consumer.ConsumeAsync().AsTask();
        await f.Until(() => record.IsCompleted, "a record after the seek");
        Assert.Equal((tp0, 0L), ((await record).Partition, (await record).Offset));
        await consumer.DisposeAsync();
    }
}

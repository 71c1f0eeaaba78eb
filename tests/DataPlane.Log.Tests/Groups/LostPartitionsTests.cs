using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Tests.Groups;

public class LostPartitionsTests
{
    [Fact]
    public async Task ConsumerRemovedFromTheGroup_LosesItsPartitionsWithoutCommitting_ThenRejoins()
    {
        await using var f = new GroupFixture();
        var consumer = f.NewConsumer("a", PartitionAssignmentStrategy.CooperativeSticky);
        var lost = new List<TopicPartition>();
        consumer.PartitionsLost = ps =>
        {
            lock (lost)
            {
                lost.AddRange(ps);
            }

            return ValueTask.CompletedTask;
        };
        await f.Until(() => consumer.Assignment.Count == 12, "the consumer owns every partition");
        var removed = consumer.MemberId;

        // As an admin's RemoveMembersFromConsumerGroup would: the member learns it at its next heartbeat.
        Assert.Equal(GroupError.None, f.Coordinator.LeaveGroup(GroupFixture.Group, removed));
        await f.Until(() => consumer.Assignment.Count == 12 && consumer.MemberId != removed && consumer.MemberId.Length > 0, "the consumer rejoined");
        lock (lost)
        {
            Assert.Equal(12, lost.Distinct().Count());
        }

        Assert.Empty(f.Violations);
    }
}

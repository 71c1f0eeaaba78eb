using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Tests.Groups;

public class CooperativeFlowTests
{
    [Theory]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky, true)]
    [InlineData(PartitionAssignmentStrategy.Range, false)]
    public async Task DuringARebalance_CooperativeMembersKeepConsuming_EagerOnesStop(PartitionAssignmentStrategy strategy, bool keepsFlowing)
    {
        await using var f = new GroupFixture();
        var consumers = new[] { f.NewConsumer("a", strategy), f.NewConsumer("b", strategy), f.NewConsumer("c", strategy) };
        var blocker = new RawMember(f.Coordinator, strategy);
        await f.Until(() => blocker.Pump() && consumers.All(c => c.Assignment.Count == 3), "a raw member and three consumers share the partitions");

        // A fourth consumer joins; the raw member keeps its session but never rejoins, so the rebalance stays open.
        f.NewConsumer("d", strategy);
        await f.Until(() => blocker.Heartbeat() == GroupError.RebalanceInProgress, "the group is rebalancing");
        if (!keepsFlowing)
        {
            await f.Until(() => blocker.Heartbeat() == GroupError.RebalanceInProgress && consumers.All(c => c.Assignment.Count == 0), "eager members revoked everything");
        }

        var before = f.Consumed.Count;
        await f.ProduceAsync(240);
        if (keepsFlowing)
        {
            await f.Until(() => blocker.Heartbeat() == GroupError.RebalanceInProgress && f.Consumed.Count >= before + 120, "records flow during the rebalance");
            Assert.All(consumers, c => Assert.Equal(3, c.Assignment.Count));
        }
        else
        {
            var polls = 0;
            await f.Until(() => blocker.Heartbeat() == GroupError.RebalanceInProgress && ++polls == 40, "ten seconds of the rebalance went by");
            Assert.Equal(before, f.Consumed.Count);
        }

        Assert.Equal(GroupState.PreparingRebalance, f.Coordinator.DescribeGroup(GroupFixture.Group).State);
        Assert.Empty(f.Violations);
    }

    /// <summary>A member driven by hand through the coordinator's calls, as a Kafka client would drive it.</summary>
    private sealed class RawMember(GroupCoordinator coordinator, PartitionAssignmentStrategy strategy)
    {
        private readonly string _protocol = strategy == PartitionAssignmentStrategy.CooperativeSticky ? "cooperative-sticky" : "range";
        private Task<JoinGroupResult>? _join;
        private Task<SyncGroupResult>? _sync;
        private string _memberId = string.Empty;
        private int _generation = -1;
        private List<TopicPartition> _owned = [];

        public GroupError Heartbeat() => coordinator.Heartbeat(GroupFixture.Group, _generation, _memberId);

        /// <summary>One step of the member's life; true when it is stable with a non-empty assignment.</summary>
        public bool Pump()
        {
            if (_sync is { IsCompleted: true } sync)
            {
                _sync = null;
                ConsumerProtocol.TryDecodeAssignment(sync.Result.Assignment.Span, out var assigned);
                var revoked = _owned.Except(assigned).Any();
                _owned = assigned;
                if (revoked || sync.Result.Error != GroupError.None)
                {
                    Join();
                }
            }

            if (_join is { IsCompleted: true } join)
            {
                _join = null;
                (_memberId, _generation) = (join.Result.MemberId, join.Result.GenerationId);
                _sync = coordinator.SyncGroupAsync(GroupFixture.Group, _generation, _memberId, null, []);
            }

            if (_join is null && _sync is null && (_memberId.Length == 0 || Heartbeat() != GroupError.None))
            {
                Join();
            }

            return _join is null && _sync is null && _owned.Count > 0;
        }

        private void Join() => _join = coordinator.JoinGroupAsync(new JoinGroupRequest
        {
            GroupId = GroupFixture.Group,
            MemberId = _memberId,
            ProtocolType = GroupCoordinator.EmbeddedProtocolType,
            Protocols = [new GroupProtocol(_protocol, ConsumerProtocol.EncodeSubscription([GroupFixture.Topic], _owned))],
            SessionTimeout = GroupFixture.SessionTimeout,
            RebalanceTimeout = TimeSpan.FromMinutes(30),
        });
    }
}

using DataPlane.Log.Groups;
using DataPlane.Log.Offsets;

namespace DataPlane.Log.Tests.Groups;

public class CoordinatorTests
{
    private static JoinGroupRequest Join(string memberId = "", string? instanceId = null, bool requireId = false) => new()
    {
        GroupId = "g",
        MemberId = memberId,
        GroupInstanceId = instanceId,
        RequireKnownMemberId = requireId,
        ProtocolType = "consumer",
        Protocols = [new GroupProtocol("range", new byte[] { 7 })],
        SessionTimeout = TimeSpan.FromSeconds(10),
        RebalanceTimeout = TimeSpan.FromSeconds(20),
    };

    private static async Task<(JoinGroupResult Join, SyncGroupResult Sync)> JoinAndSyncAlone(GroupCoordinator coordinator, JoinGroupRequest request)
    {
        var join = await coordinator.JoinGroupAsync(request);
        var sync = await coordinator.SyncGroupAsync("g", join.GenerationId, join.MemberId, request.GroupInstanceId,
            [new MemberAssignment(join.MemberId, new byte[] { 42 })]);
        return (join, sync);
    }

    [Fact]
    public async Task BadRequests_GetKafkasErrorCodes()
    {
        await using var f = new GroupFixture();
        Assert.Equal(GroupError.InvalidGroupId, (await f.Coordinator.JoinGroupAsync(Join() with { GroupId = "" })).Error);
        Assert.Equal(GroupError.InvalidSessionTimeout, (await f.Coordinator.JoinGroupAsync(Join() with { SessionTimeout = TimeSpan.FromSeconds(1) })).Error);
        Assert.Equal(GroupError.InconsistentGroupProtocol, (await f.Coordinator.JoinGroupAsync(Join() with { Protocols = [] })).Error);
        Assert.Equal(GroupError.UnknownMemberId, (await f.Coordinator.JoinGroupAsync(Join("stranger"))).Error);
        Assert.Equal(GroupError.UnknownMemberId, f.Coordinator.Heartbeat("g", 1, "stranger"));
        Assert.Equal(GroupError.UnknownMemberId, f.Coordinator.LeaveGroup("g", "stranger"));
        var commit = await f.Coordinator.CommitOffsetsAsync("g", -1, "", null, [new OffsetCommit(new TopicPartition("missing", 0), 1), new OffsetCommit(new TopicPartition(GroupFixture.Topic, 12), 1)]);
        Assert.Equal([GroupError.UnknownTopicOrPartition, GroupError.UnknownTopicOrPartition], commit);
        Assert.Empty(f.Coordinator.FetchOffsets("g"));
    }

    [Fact]
    public async Task JoinV4_AsksForTheMemberIdFirst_ThenAcceptsIt()
    {
        await using var f = new GroupFixture();
        var first = await f.Coordinator.JoinGroupAsync(Join(requireId: true));
        Assert.Equal(GroupError.MemberIdRequired, first.Error);
        Assert.NotEmpty(first.MemberId);
        var second = await f.Coordinator.JoinGroupAsync(Join(first.MemberId, requireId: true));
        Assert.Equal((GroupError.None, first.MemberId, first.MemberId), (second.Error, second.MemberId, second.LeaderId));
    }

    [Fact]
    public async Task MemberThatDoesNotRejoin_IsDroppedAtTheRebalanceTimeout()
    {
        await using var f = new GroupFixture();
        var (a, _) = await JoinAndSyncAlone(f.Coordinator, Join());
        var b = f.Coordinator.JoinGroupAsync(Join());
        Assert.Equal(GroupState.PreparingRebalance, f.Coordinator.DescribeGroup("g").State);
        f.Time.Advance(TimeSpan.FromSeconds(9)); // a keeps its session by heartbeats but never rejoins
        Assert.Equal(GroupError.RebalanceInProgress, f.Coordinator.Heartbeat("g", a.GenerationId, a.MemberId));
        f.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(GroupError.RebalanceInProgress, f.Coordinator.Heartbeat("g", a.GenerationId, a.MemberId));
        Assert.False(b.IsCompleted);
        f.Time.Advance(TimeSpan.FromSeconds(3));

        var joined = await b;
        Assert.Equal((GroupError.None, joined.MemberId), (joined.Error, joined.LeaderId));
        Assert.Single(f.Coordinator.DescribeGroup("g").Members);
        Assert.Equal(GroupError.UnknownMemberId, f.Coordinator.Heartbeat("g", a.GenerationId, a.MemberId));
    }

    [Fact]
    public async Task InitialRebalanceDelay_GathersMembersStartingTogetherIntoOneGeneration()
    {
        await using var f = new GroupFixture(initialDelay: TimeSpan.FromSeconds(3));
        var joins = Enumerable.Range(0, 3).Select(_ => f.Coordinator.JoinGroupAsync(Join())).ToList();
        f.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain(joins, j => j.IsCompleted);
        f.Time.Advance(TimeSpan.FromSeconds(1));
        var results = await Task.WhenAll(joins);
        Assert.All(results, r => Assert.Equal((GroupError.None, 1), (r.Error, r.GenerationId)));
        Assert.Single(results, r => r.Members.Count == 3);
    }

    [Fact]
    public async Task StaticMember_ThatStaysAwayPastItsSession_IsRemoved()
    {
        await using var f = new GroupFixture();
        var (a, _) = await JoinAndSyncAlone(f.Coordinator, Join(instanceId: "host-a"));
        f.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(GroupState.Empty, f.Coordinator.DescribeGroup("g").State);

        var (again, sync) = await JoinAndSyncAlone(f.Coordinator, Join(instanceId: "host-a"));
        Assert.Equal(a.GenerationId + 2, again.GenerationId);
        Assert.Equal([42], sync.Assignment.ToArray());
    }

    [Fact]
    public async Task StaticMember_RejoiningAStableGroup_KeepsGenerationAndAssignment_AndFencesTheOldId()
    {
        await using var f = new GroupFixture();
        var (a, _) = await JoinAndSyncAlone(f.Coordinator, Join(instanceId: "host-a"));
        var restarted = await f.Coordinator.JoinGroupAsync(Join(instanceId: "host-a"));
        Assert.Equal((GroupError.None, a.GenerationId), (restarted.Error, restarted.GenerationId));
        Assert.NotEqual(a.MemberId, restarted.MemberId);
        var sync = await f.Coordinator.SyncGroupAsync("g", restarted.GenerationId, restarted.MemberId, "host-a", []);
        Assert.Equal([42], sync.Assignment.ToArray());

        Assert.Equal(GroupError.FencedInstanceId, f.Coordinator.Heartbeat("g", a.GenerationId, a.MemberId, "host-a"));
        Assert.Equal([GroupError.FencedInstanceId], await f.Coordinator.CommitOffsetsAsync("g", a.GenerationId, a.MemberId, "host-a", [new OffsetCommit(new TopicPartition(GroupFixture.Topic, 0), 1)]));
        Assert.Equal(GroupError.FencedInstanceId, f.Coordinator.LeaveGroup("g", a.MemberId, "host-a"));
        Assert.Equal(GroupError.None, f.Coordinator.Heartbeat("g", restarted.GenerationId, restarted.MemberId, "host-a"));
    }

    [Fact]
    public async Task Dispose_FailsPendingJoinsWithCoordinatorNotAvailable()
    {
        await using var f = new GroupFixture(initialDelay: TimeSpan.FromSeconds(3));
        var pending = f.Coordinator.JoinGroupAsync(Join());
        await f.Coordinator.DisposeAsync();
        Assert.Equal(GroupError.CoordinatorNotAvailable, (await pending).Error);
        Assert.Equal(GroupError.CoordinatorNotAvailable, (await f.Coordinator.JoinGroupAsync(Join())).Error);
    }
}

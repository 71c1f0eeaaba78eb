using DataPlane.Log.Groups;

namespace DataPlane.Log.Tests.Groups;

public class RelayTests
{
    private static JoinGroupRequest Join(string memberId, params string[] protocols) => new()
    {
        GroupId = "kafka",
        MemberId = memberId,
        ProtocolType = "consumer",
        Protocols = [.. protocols.Select(p => new GroupProtocol(p, new byte[] { (byte)p.Length }))],
        SessionTimeout = GroupFixture.SessionTimeout,
    };

    [Fact]
    public async Task LeaderAssigns_CoordinatorPicksACommonProtocol_AndRelaysTheAssignmentBytes()
    {
        await using var f = new GroupFixture(initialDelay: TimeSpan.FromSeconds(3));
        var one = f.Coordinator.JoinGroupAsync(Join("", "range", "roundrobin"));
        var two = f.Coordinator.JoinGroupAsync(Join("", "roundrobin"));
        Assert.Equal(GroupError.InconsistentGroupProtocol, (await f.Coordinator.JoinGroupAsync(Join("", "sticky"))).Error);
        Assert.False(one.IsCompleted);
        f.Time.Advance(TimeSpan.FromSeconds(3));
        var (r1, r2) = (await one, await two);

        Assert.Equal(("roundrobin", r1.GenerationId), (r2.ProtocolName, r2.GenerationId));
        var leader = r1.LeaderId == r1.MemberId ? r1 : r2;
        var follower = leader == r1 ? r2 : r1;
        Assert.Equal(2, leader.Members.Count);
        Assert.Empty(follower.Members);

        var followerSync = f.Coordinator.SyncGroupAsync("kafka", follower.GenerationId, follower.MemberId, null, []);
        Assert.False(followerSync.IsCompleted);
        var leaderSync = await f.Coordinator.SyncGroupAsync("kafka", leader.GenerationId, leader.MemberId, null,
            [new MemberAssignment(leader.MemberId, new byte[] { 1 }), new MemberAssignment(follower.MemberId, new byte[] { 2, 2 })]);
        Assert.Equal([1], leaderSync.Assignment.ToArray());
        Assert.Equal([2, 2], (await followerSync).Assignment.ToArray());
        Assert.Equal(GroupState.Stable, f.Coordinator.DescribeGroup("kafka").State);

        Assert.Equal(GroupError.None, f.Coordinator.LeaveGroup("kafka", follower.MemberId));
        Assert.Equal(GroupError.RebalanceInProgress, f.Coordinator.Heartbeat("kafka", leader.GenerationId, leader.MemberId));
        Assert.Equal(GroupError.UnknownMemberId, f.Coordinator.Heartbeat("kafka", leader.GenerationId, follower.MemberId));
    }
}

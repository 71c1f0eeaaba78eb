using DataPlane.Log.Groups;
using DataPlane.Log.Groups.Assignors;

namespace DataPlane.Log.Tests.Groups;

public class AssignorTests
{
    private static readonly string[] Both = ["t1", "t2"];

    private static int Partitions(string topic) => topic == "t1" ? 5 : 3;

    private static AssignorMember Member(string id, string[]? topics = null, params TopicPartition[] owned) =>
        new(id, id, topics ?? Both, owned);

    private static string Show(Dictionary<string, List<TopicPartition>> assignment) =>
        string.Join(" ", assignment.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + ":" + string.Join(",", p.Value.Select(tp => tp.ToString()))));

    [Fact]
    public void Range_GivesContiguousRangesPerTopic_FirstMembersOneMore() =>
        Assert.Equal("a:t1-0,t1-1,t1-2,t2-0,t2-1 b:t1-3,t1-4,t2-2",
            Show(Assignors.Range.Assign([Member("a"), Member("b")], Partitions)));

    [Fact]
    public void RoundRobin_DealsEveryPartitionInTurn_SkippingMembersNotSubscribed() =>
        Assert.Equal("a:t1-0,t1-2,t1-4,t2-0,t2-1,t2-2 b:t1-1,t1-3",
            Show(Assignors.RoundRobin.Assign([Member("a"), Member("b", ["t1"])], Partitions)));

    [Fact]
    public void CooperativeSticky_KeepsOwnedPartitions_AndWithholdsThoseThatMustMove()
    {
        var t = (int p) => new TopicPartition("t1", p);
        var firstRound = Assignors.CooperativeSticky.Assign(
            [Member("a", ["t1"], t(0), t(1), t(2)), Member("b", ["t1"], t(3), t(4)), Member("c", ["t1"])], Partitions);
        Assert.Equal("a:t1-0,t1-1 b:t1-3,t1-4 c:", Show(firstRound)); // t1-2 is revoked by a, assigned next round

        var secondRound = Assignors.CooperativeSticky.Assign(
            [Member("a", ["t1"], t(0), t(1)), Member("b", ["t1"], t(3), t(4)), Member("c", ["t1"])], Partitions);
        Assert.Equal("a:t1-0,t1-1 b:t1-3,t1-4 c:t1-2", Show(secondRound));
    }

    [Fact]
    public void CooperativeSticky_GivesADepartedMembersPartitionsAwayAtOnce()
    {
        var t = (int p) => new TopicPartition("t1", p);
        var assignment = Assignors.CooperativeSticky.Assign([Member("a", ["t1"], t(0), t(1)), Member("c", ["t1"], t(2))], Partitions);
        Assert.Equal("a:t1-0,t1-1,t1-4 c:t1-2,t1-3", Show(assignment));
    }
}

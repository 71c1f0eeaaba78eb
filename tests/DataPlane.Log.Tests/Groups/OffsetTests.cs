using DataPlane.Log.Groups;
using DataPlane.Log.Offsets;

namespace DataPlane.Log.Tests.Groups;

public class OffsetTests
{
    private static readonly TopicPartition P0 = new(GroupFixture.Topic, 0);
    private static readonly TopicPartition P1 = new(GroupFixture.Topic, 1);

    private static JoinGroupRequest Join(string memberId = "") => new()
    {
        GroupId = "g",
        MemberId = memberId,
        ProtocolType = GroupCoordinator.EmbeddedProtocolType,
        Protocols = [new GroupProtocol("range", ConsumerProtocol.EncodeSubscription([GroupFixture.Topic], []))],
        SessionTimeout = GroupFixture.SessionTimeout,
    };

    [Fact]
    public async Task CommittedOffsetsAndMetadata_SurviveARestartOfTheLog()
    {
        await using var f = new GroupFixture();
        var checkpoint = new string('c', 4096);
        var errors = await f.Coordinator.CommitOffsetsAsync("g", -1, "", null, [new OffsetCommit(P0, 42, checkpoint), new OffsetCommit(P1, 7)]);
        Assert.Equal([GroupError.None, GroupError.None], errors);
        var tooLarge = await f.Coordinator.CommitOffsetsAsync("g", -1, "", null, [new OffsetCommit(P1, 9, checkpoint + "x")]);
        Assert.Equal([GroupError.OffsetMetadataTooLarge], tooLarge);

        await f.RestartAsync();

        var offsets = f.Coordinator.FetchOffsets("g");
        Assert.Equal((42L, checkpoint), (offsets[P0].Offset, offsets[P0].Metadata));
        Assert.Equal((7L, ""), (offsets[P1].Offset, offsets[P1].Metadata));
    }

    [Fact]
    public async Task CommitsFromAStaleGenerationOrAnUnknownMember_Fail()
    {
        await using var f = new GroupFixture();
        var first = await f.Coordinator.JoinGroupAsync(Join());
        Assert.Equal(GroupError.None, first.Error);
        var secondJoin = f.Coordinator.JoinGroupAsync(Join());
        Assert.Equal(GroupError.RebalanceInProgress, f.Coordinator.Heartbeat("g", first.GenerationId, first.MemberId));
        var rejoin = await f.Coordinator.JoinGroupAsync(Join(first.MemberId));
        var second = await secondJoin;
        Assert.Equal(first.GenerationId + 1, rejoin.GenerationId);

        Assert.Equal([GroupError.IllegalGeneration], await f.Coordinator.CommitOffsetsAsync("g", first.GenerationId, first.MemberId, null, [new OffsetCommit(P0, 1)]));
        Assert.Equal([GroupError.UnknownMemberId], await f.Coordinator.CommitOffsetsAsync("g", rejoin.GenerationId, "nobody", null, [new OffsetCommit(P0, 1)]));
        Assert.Equal([GroupError.None], await f.Coordinator.CommitOffsetsAsync("g", second.GenerationId, second.MemberId, null, [new OffsetCommit(P0, 5)]));
        Assert.Equal(5, f.Coordinator.FetchOffsets("g", [P0])[P0].Offset);
    }

    [Fact]
    public async Task OffsetsTopic_IsCompacted_SoOnlyTheLatestCommitPerKeySurvives()
    {
        await using var f = new GroupFixture();
        for (var i = 1; i <= 400; i++)
        {
            var errors = await f.Coordinator.CommitOffsetsAsync("g", -1, "", null, [new OffsetCommit(P0, i, "step " + i), new OffsetCommit(P1, 1000 + i)]);
            Assert.Equal(GroupError.None, errors[0]);
        }

        var store = f.Coordinator.Offsets;
        var partition = store.PartitionFor("g");
        Assert.True(f.Log.TryGet(OffsetStore.TopicName, partition, out var log));
        Assert.True(log.Segments.Count <= 3, $"{log.Segments.Count} segments");
        Assert.True(log.LogStartOffset > 0);

        await f.RestartAsync();
        var offsets = f.Coordinator.FetchOffsets("g");
        Assert.Equal((400L, "step 400"), (offsets[P0].Offset, offsets[P0].Metadata));
        Assert.Equal(1400, offsets[P1].Offset);
    }
}

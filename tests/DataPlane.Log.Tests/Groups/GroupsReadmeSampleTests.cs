using System.Text;
using DataPlane.Log.Consumer;
using DataPlane.Log.Groups;
using DataPlane.Log.Producer;
using DataPlane.Testing;

namespace DataPlane.Log.Tests.Groups;

public class GroupsReadmeSampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task ReadmeGroupsSample_RunsAndMatchesTheReadme()
    {
        var dataDirectory = _dir.Path;
        var consumed = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var cancellationToken = timeout.Token;
        #region readme-groups
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = dataDirectory });
        log.CreateTopic("orders", partitions: 6);
        await using var coordinator = GroupCoordinator.Open(log, new GroupCoordinatorOptions { InitialRebalanceDelay = TimeSpan.Zero });
        await using (var producer = new LogProducer(log, "orders"))
        {
            await producer.AddAsync(Encoding.UTF8.GetBytes("customer-7"), Encoding.UTF8.GetBytes("2 apples"), 0);
        }

        await using var consumer = new LogConsumer(coordinator, new LogConsumerOptions
        {
            GroupId = "billing",
            AssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        });
        consumer.PartitionsRevoked = async partitions => await consumer.CommitAsync(); // hand over where we are
        consumer.Subscribe(["orders"]);

        var record = await consumer.ConsumeAsync(cancellationToken);
        consumed.Add(Encoding.UTF8.GetString(record.Value!.Value.Span));
        await consumer.CommitAsync([new(record.Partition, record.Offset + 1, Metadata: "invoice 1001 sent")]);
        #endregion

        Assert.Equal(["2 apples"], consumed);
        var committed = coordinator.FetchOffsets("billing")[record.Partition];
        Assert.Equal((1L, "invoice 1001 sent"), (committed.Offset, committed.Metadata));
        Assert.Equal(Readme.Region("groups"), Readme.Snippet("groups"));
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}

using System.Text;
using DataPlane.Log.Producer;
using DataPlane.Log.Records;
using DataPlane.Testing;

namespace DataPlane.Log.Tests;

public class ReadmeSampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task ReadmeLogSample_RunsAndMatchesTheReadme()
    {
        var dataDirectory = _dir.Path;
        #region readme-log
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = dataDirectory });
        log.CreateTopic("orders", partitions: 3, new TopicConfig { RetentionTime = TimeSpan.FromDays(1) });

        // Keys go to the partition Kafka's Java client would pick (murmur2).
        await using (var producer = new LogProducer(log, "orders"))
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await producer.AddAsync(Encoding.UTF8.GetBytes("customer-7"), Encoding.UTF8.GetBytes("2 apples"), now);
            await producer.AddAsync(Encoding.UTF8.GetBytes("customer-7"), Encoding.UTF8.GetBytes("1 pear"), now);
        } // flushed: acknowledged after the fsync that covers them (the durable default)

        var partition = Murmur2Partitioner.Partition(Encoding.UTF8.GetBytes("customer-7"), 3);
        var read = log.Read("orders", partition, offset: 0, maxBytes: 1 << 20); // whole batches, as stored
        foreach (var record in RecordBatchReader.ReadAll(read.Records.ToArray()))
        {
            Console.WriteLine($"{record.Offset}: {Encoding.UTF8.GetString(record.Value!.Value.Span)}");
        }
        #endregion

        Assert.Equal(2, log.GetOffsets("orders", partition).HighWatermark);
        Assert.Equal(["2 apples", "1 pear"], RecordBatchReader.ReadAll(read.Records.ToArray()).Select(r => TestBatches.Text(r.Value)));
        Assert.Equal(Readme.Region("log"), Readme.Snippet("log"));
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }
}

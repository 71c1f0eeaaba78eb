using System.Buffers.Binary;
using Confluent.Kafka;
using DataPlane.Log.Records;
using DataPlane.Log.Server;

namespace DataPlane.Log.Kafka.Tests;

public sealed class IdempotentProducerTests
{
    [Fact]
    public async Task AnIdempotentProducerWritesEveryMessageOnceInOrder()
    {
        await using var broker = await Broker.StartAsync();
        await ProduceConsumeTests.CreateTopicAsync(broker, "exactly", 2);
        var config = new ProducerConfig { BootstrapServers = broker.Bootstrap, EnableIdempotence = true, LingerMs = 5 };
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var pending = Enumerable.Range(0, 2_000)
            .Select(i => producer.ProduceAsync("exactly", new Message<string, string> { Key = "k" + (i % 7), Value = "v" + i }))
            .ToList();
        var results = await Task.WhenAll(pending);
        Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        var sent = results.OrderBy(r => r.Offset.Value).Select(r => (r.Partition.Value, r.Message.Key, r.Message.Value)).ToList();
        ProduceConsumeTests.AssertSameOrderPerPartition(sent, ProduceConsumeTests.Consume(broker, "exactly", 2_000));
        Assert.Equal(2_000, broker.Server.Log.GetOffsets("exactly", 0).HighWatermark + broker.Server.Log.GetOffsets("exactly", 1).HighWatermark);
    }

    [Fact]
    public void ARetriedBatchGetsItsOriginalOffsetAndAGapIsRefused()
    {
        var sequences = new ProducerSequences(100);
        var producerId = sequences.NewProducerId();
        var first = Header(producerId, epoch: 0, baseSequence: 0, records: 10);
        Assert.Null(sequences.Check("t", 0, first));
        sequences.Appended("t", 0, first, baseOffset: 40);

        var retry = sequences.Check("t", 0, first);
        Assert.Equal(40, retry?.BaseOffset);
        Assert.Equal(LogError.None, retry?.Error);

        Assert.Null(sequences.Check("t", 0, Header(producerId, 0, baseSequence: 10, records: 5)));
        Assert.Equal((LogError)45, sequences.Check("t", 0, Header(producerId, 0, baseSequence: 20, records: 5))?.Error);
        Assert.Null(sequences.Check("t", 1, Header(producerId, 0, baseSequence: 0, records: 1)));
    }

    private static byte[] Header(long producerId, short epoch, int baseSequence, int records)
    {
        var header = new byte[RecordBatch.HeaderSize];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(RecordBatch.LastOffsetDeltaOffset), records - 1);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(RecordBatch.ProducerIdOffset), producerId);
        BinaryPrimitives.WriteInt16BigEndian(header.AsSpan(RecordBatch.ProducerEpochOffset), epoch);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(RecordBatch.BaseSequenceOffset), baseSequence);
        return header;
    }
}

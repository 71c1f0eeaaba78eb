using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace DataPlane.Log.Kafka.Tests;

public sealed class ProduceConsumeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TenThousandKeyedMessagesComeBackInOrderPerPartition()
    {
        await using var broker = await Broker.StartAsync();
        await CreateTopicAsync(broker, "orders", 6);
        var sent = await ProduceAsync(broker, "orders", 10_000, CompressionType.None);
        var received = Consume(broker, "orders", 10_000);
        AssertSameOrderPerPartition(sent, received);
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task CompressedBatchesAreStoredAndServedAsTheyCame(CompressionType codec)
    {
        await using var broker = await Broker.StartAsync();
        await CreateTopicAsync(broker, "compressed", 2);
        var sent = await ProduceAsync(broker, "compressed", 2_000, codec);
        var received = Consume(broker, "compressed", 2_000);
        AssertSameOrderPerPartition(sent, received);
    }

    [Fact]
    public async Task AdminClientCreatesTopicsAndReadsMetadata()
    {
        await using var broker = await Broker.StartAsync();
        await CreateTopicAsync(broker, "admin-made", 4);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        var metadata = admin.GetMetadata("admin-made", TimeSpan.FromSeconds(30));
        var topic = Assert.Single(metadata.Topics);
        Assert.Equal(ErrorCode.NoError, topic.Error.Code);
        Assert.Equal(4, topic.Partitions.Count);
        Assert.Single(metadata.Brokers);
        var again = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "admin-made", NumPartitions = 1 }]));
        Assert.Equal(ErrorCode.TopicAlreadyExists, again.Results[0].Error.Code);
        var configs = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = "admin-made" }]);
        Assert.Equal(((long)TimeSpan.FromDays(7).TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), configs[0].Entries["retention.ms"].Value);
        Assert.Equal((1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), configs[0].Entries["segment.bytes"].Value);
    }

    internal static async Task CreateTopicAsync(Broker broker, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    internal static async Task<List<(int Partition, string Key, string Value)>> ProduceAsync(Broker broker, string topic, int count, CompressionType codec, int first = 0)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = broker.Bootstrap,
            Acks = Acks.All,
            CompressionType = codec,
            LingerMs = 5,
        };
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var pending = new List<Task<DeliveryResult<string, string>>>(count);
        for (var i = 0; i < count; i++)
        {
            pending.Add(producer.ProduceAsync(topic, new Message<string, string> { Key = "key-" + (i % 97), Value = "value-" + (first + i) }));
        }

        var results = await Task.WhenAll(pending);
        Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        return [.. results.OrderBy(r => r.Offset.Value).Select(r => (r.Partition.Value, r.Message.Key, r.Message.Value))];
    }

    internal static List<(int Partition, string Key, string Value)> Consume(Broker broker, string topic, int count)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = broker.Bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        };
        using var consumer = new ConsumerBuilder<string, string>(config).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics[0].Partitions.Count;
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var received = new List<(int, string, string)>(count);
        var deadline = DateTime.UtcNow + Patience;
        while (received.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is { } result)
            {
                received.Add((result.Partition.Value, result.Message.Key, result.Message.Value));
            }
        }

        consumer.Close();
        return received;
    }

    internal static void AssertSameOrderPerPartition(List<(int Partition, string Key, string Value)> sent, List<(int Partition, string Key, string Value)> received)
    {
        Assert.Equal(sent.Count, received.Count);
        foreach (var partition in sent.Select(s => s.Partition).Distinct())
        {
            Assert.Equal(
                sent.Where(s => s.Partition == partition).Select(s => s.Value),
                received.Where(r => r.Partition == partition).Select(r => r.Value));
        }
    }
}

using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace DataPlane.Log.Kafka.Tests;

/// <summary>CreateTopics honours the topic configs in the request and refuses unknown or invalid ones with INVALID_CONFIG.</summary>
public sealed class TopicConfigTests
{
    [Fact]
    public async Task CreateTopicsAppliesTheRequestsConfigsAndDescribeConfigsReportsThem()
    {
        await using var broker = await Broker.StartAsync();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "configured",
            NumPartitions = 2,
            ReplicationFactor = 1,
            Configs = new()
            {
                ["retention.ms"] = "60000",
                ["retention.bytes"] = "5000000",
                ["segment.bytes"] = "1048576",
                ["flush.ms"] = "1000",
                ["cleanup.policy"] = "delete",
            },
        }]);

        Assert.True(broker.Server.Log.TryGet("configured", 1, out var partition));
        Assert.Equal(TimeSpan.FromMinutes(1), partition.Config.RetentionTime);
        Assert.Equal(5_000_000, partition.Config.RetentionBytes);
        Assert.Equal(1 << 20, partition.Config.SegmentBytes);
        Assert.Equal(TimeSpan.FromSeconds(1), partition.Config.FlushPolicy.Interval);
        Assert.False(partition.Config.FlushPolicy.IsDurable, "flush.ms=1000 alone means an fsync a second, not one per append");

        var described = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = "configured" }]);
        var entries = described[0].Entries;
        Assert.Equal("60000", entries["retention.ms"].Value);
        Assert.Equal("1048576", entries["segment.bytes"].Value);
        Assert.Equal("1000", entries["flush.ms"].Value);
        Assert.False(entries["retention.ms"].IsDefault);

        await broker.RestartAsync();
        Assert.True(broker.Server.Log.TryGet("configured", 0, out var reopened));
        Assert.Equal(1 << 20, reopened.Config.SegmentBytes);
    }

    [Theory]
    [InlineData("no.such.config", "1")]
    [InlineData("retention.ms", "soon")]
    [InlineData("segment.bytes", "12")]
    [InlineData("retention.bytes", "-5")]
    [InlineData("cleanup.policy", "compact")]
    public async Task AnUnknownOrInvalidConfigGetsInvalidConfigAndNoTopic(string key, string value)
    {
        await using var broker = await Broker.StartAsync();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.Bootstrap }).Build();
        var rejected = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync(
            [new TopicSpecification { Name = "refused", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { [key] = value } }]));
        Assert.Equal(ErrorCode.InvalidConfig, rejected.Results[0].Error.Code);
        Assert.Contains(key, rejected.Results[0].Error.Reason, StringComparison.Ordinal);
        Assert.Equal(0, broker.Server.Log.GetPartitionCount("refused"));
    }
}

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace DataPlane.Log.Kafka.Tests;

/// <summary><c>dataplane log --metrics</c> serves the DataPlane.Log meter as Prometheus text, and the figures follow the traffic.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsFollowProduceConsumeCommitsAndRejectedConfigs()
    {
        var directory = Path.Combine(Path.GetTempPath(), "dataplane-kafka-metrics-" + Guid.NewGuid().ToString("N"));
        int metricsPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            metricsPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var (process, endPoint) = await LogProcess.StartAsync(directory, "--metrics", $"127.0.0.1:{metricsPort}");
        try
        {
            var bootstrap = endPoint.ToString();
            using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            {
                await admin.CreateTopicsAsync([new TopicSpecification { Name = "metered", NumPartitions = 2, ReplicationFactor = 1 }]);
                var rejected = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync(
                    [new TopicSpecification { Name = "misconfigured", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["retention.ms"] = "soon" } }]));
                Assert.Equal(ErrorCode.InvalidConfig, rejected.Results[0].Error.Code);
            }

            var perPartition = new long[2];
            const int Messages = 300;
            var value = new string('v', 100);
            using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All, LingerMs = 5 }).Build())
            {
                var pending = Enumerable.Range(0, Messages)
                    .Select(i => producer.ProduceAsync("metered", new Message<string, string> { Key = "key-" + i, Value = value }))
                    .ToList();
                foreach (var delivered in await Task.WhenAll(pending))
                {
                    perPartition[delivered.Partition.Value]++;
                }
            }

            var consumerConfig = new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "metered-group",
                EnableAutoCommit = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
            };
            using (var consumer = new ConsumerBuilder<Ignore, Ignore>(consumerConfig).Build())
            {
                consumer.Assign([new TopicPartitionOffset("metered", 0, Offset.Beginning), new TopicPartitionOffset("metered", 1, Offset.Beginning)]);
                var read = 0;
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (read < Messages && DateTime.UtcNow < deadline)
                {
                    read += consumer.Consume(TimeSpan.FromSeconds(1)) is null ? 0 : 1;
                }

                Assert.Equal(Messages, read);
                // Partition 0 is committed 10 short of its end, partition 1 at its end: lags 10 and 0.
                consumer.Commit([new TopicPartitionOffset("metered", 0, perPartition[0] - 10), new TopicPartitionOffset("metered", 1, perPartition[1])]);
                consumer.Close();
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            // Every client is gone once no connection is open: a consumer's last long-poll fetch is answered (and
            // counted) before its connection closes, so the figures below no longer move.
            PrometheusText metrics = null!;
            await Eventually.True(() =>
            {
                metrics = PrometheusText.Parse(http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics")).GetAwaiter().GetResult());
                return metrics.Value("dataplane_log_connected_clients") == 0;
            }, "every client connection closed", TimeSpan.FromSeconds(60));

            for (var p = 0; p < 2; p++)
            {
                var partition = p.ToString(CultureInfo.InvariantCulture);
                Assert.Equal(perPartition[p], metrics.Value("dataplane_log_log_end_offset", ("topic", "metered"), ("partition", partition)));
                Assert.True(metrics.Value("dataplane_log_partition_size", ("topic", "metered"), ("partition", partition)) > perPartition[p] * value.Length);
            }

            Assert.Equal(10, metrics.Value("dataplane_log_consumer_lag", ("group", "metered-group"), ("topic", "metered"), ("partition", "0")));
            Assert.Equal(0, metrics.Value("dataplane_log_consumer_lag", ("group", "metered-group"), ("topic", "metered"), ("partition", "1")));
            Assert.Equal(1, metrics.Value("dataplane_log_requests", ("api", "CreateTopics"), ("error", "0")));
            Assert.Equal(1, metrics.Value("dataplane_log_requests", ("api", "CreateTopics"), ("error", "40")));
            var produces = metrics.Value("dataplane_log_requests", ("api", "Produce"), ("error", "0"));
            Assert.InRange(produces, 1, Messages);
            Assert.Equal(produces, metrics.Sum("dataplane_log_requests", ("api", "Produce")));
            Assert.Equal(produces, metrics.Value("dataplane_log_produce_duration_count"));
            Assert.Equal(metrics.Sum("dataplane_log_requests", ("api", "Fetch")), metrics.Value("dataplane_log_fetch_duration_count"));
            Assert.True(metrics.Value("dataplane_log_bytes_in") > Messages * value.Length, "every message came in");
            Assert.True(metrics.Value("dataplane_log_bytes_out") > Messages * value.Length, "every message went out");
            Assert.Equal(0, metrics.Value("dataplane_log_protocol_errors"));
            Assert.True(metrics.Value("dataplane_log_connections") >= 3, "admin, producer and consumer connected");
            Assert.Equal(0, await process.TerminateAsync());
        }
        finally
        {
            process.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}

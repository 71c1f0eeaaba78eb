using System.Net;
using Confluent.Kafka;
using DataPlane.Log.Server;

namespace DataPlane.Log.Kafka.Tests;

public sealed class ReadmeSampleTests
{
    [Fact]
    public async Task ReadmeKafkaServerSample_RunsAndMatchesTheReadme()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "dataplane-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            #region readme-kafka-server
            await using var server = new KafkaServer(new KafkaServerOptions
            {
                Listen = new IPEndPoint(IPAddress.Loopback, 0), // read the port back from server.EndPoint
                Log = new CommitLogOptions { DataDirectory = dataDirectory },
                DefaultPartitions = 3, // of topics auto-created by Metadata
            });
            await server.StartAsync();

            var config = new ProducerConfig { BootstrapServers = server.EndPoint.ToString(), Acks = Acks.All };
            using var producer = new ProducerBuilder<string, string>(config).Build();
            var delivered = await producer.ProduceAsync("greetings", new Message<string, string> { Key = "k", Value = "hello" });
            #endregion

            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            Assert.Equal(3, server.Log.GetPartitionCount("greetings"));
            Assert.Equal(Readme.Region("kafka-server"), Readme.Snippet("kafka-server"));
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}

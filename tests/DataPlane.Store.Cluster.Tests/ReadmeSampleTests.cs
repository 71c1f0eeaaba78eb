using System.Net;
using DataPlane.Testing;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

public sealed class ReadmeSampleTests
{
    private static readonly string[] NodeNames = ["a", "b", "c"];

    [Fact]
    public async Task ReadmeClusterSample_RunsAndMatchesTheReadme()
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), "dp-readme-" + Guid.NewGuid().ToString("N"));
        var peerAddress = NodeNames.ToDictionary(n => n, _ => Ports.Free());
        var clientAddress = NodeNames.ToDictionary(n => n, _ => Ports.Free());
        try
        {
            #region readme-store-cluster
            string[] names = ["a", "b", "c"];
            var nodes = new List<StoreServer>();
            foreach (var name in names)
            {
                var cluster = new ClusterOptions { NodeId = name, PeerListen = peerAddress[name], Replicas = 3, ReadQuorum = 2, WriteQuorum = 2 };
                foreach (var other in names.Where(n => n != name))
                {
                    cluster.Peers[other] = peerAddress[other]; // every node gets the same table, less itself
                }

                var node = new StoreServer(new StoreOptions { Listen = clientAddress[name], DataDirectory = Path.Combine(dataRoot, name), Cluster = cluster });
                await node.StartAsync();
                nodes.Add(node);
            }

            // Any node coordinates: the write goes to all three replicas and is acknowledged after two.
            await Task.WhenAll(nodes.Select(n => n.WaitForPeersAsync()));
            using var redis = await ConnectionMultiplexer.ConnectAsync(nodes[0].EndPoint.ToString());
            await redis.GetDatabase().StringSetAsync("user:42", "Ada");
            #endregion

            using var third = await ConnectionMultiplexer.ConnectAsync(nodes[2].EndPoint.ToString());
            Assert.Equal("Ada", await third.GetDatabase().StringGetAsync("user:42"));
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            Assert.Equal(Readme.Region("store-cluster"), Readme.Snippet("store-cluster"));
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }
}

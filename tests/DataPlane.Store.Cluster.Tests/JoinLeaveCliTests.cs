using DataPlane.Testing;
using StackExchange.Redis;

namespace DataPlane.Store.Cluster.Tests;

/// <summary><c>--join</c> and <c>dataplane store leave</c> through the real executable.</summary>
public sealed class JoinLeaveCliTests
{
    [Fact]
    public async Task NodeJoinsWithJoinFlag_ThenLeavesWithTheLeaveCommand_AndTheDataStays()
    {
        var root = Path.Combine(Path.GetTempPath(), "dp-cli-join-" + Guid.NewGuid().ToString("N"));
        var cluster = TestCluster.UniqueName();
        string[] names = ["a", "b", "c"];
        var peers = names.ToDictionary(n => n, _ => Ports.Free());
        var nodes = new List<DataplaneChild>();
        try
        {
            foreach (var name in names)
            {
                var others = string.Join(',', names.Where(n => n != name).Select(n => $"{n}={peers[n]}"));
                nodes.Add(await DataplaneChild.StartAsync("store", Args(name, peers[name].ToString(), root, cluster, "--peers", others)));
            }

            using (var redis = await ConnectionMultiplexer.ConnectAsync($"{nodes[0].EndPoint},syncTimeout=20000,asyncTimeout=20000"))
            {
                await Task.WhenAll(Enumerable.Range(0, 300).Select(i => redis.GetDatabase().StringSetAsync($"k{i}", $"v{i}")));
            }

            var d = await DataplaneChild.StartAsync("store", Args("d", Ports.Free().ToString(), root, cluster, "--join", peers["a"].ToString()));
            nodes.Add(d);
            using (var redis = await ConnectionMultiplexer.ConnectAsync($"{d.EndPoint},allowAdmin=true,syncTimeout=20000,asyncTimeout=20000"))
            {
                await Eventually.True(() => Info(redis, d).Contains("members:a,b,c,d", StringComparison.Ordinal) && Info(redis, d).Contains("rebalancing:0", StringComparison.Ordinal), "d joined and the rebalance ended", TimeSpan.FromSeconds(60));
            }

            using var leave = await DataplaneChild.RunToExitAsync("store", ["leave", "--peer-admin", peers["b"].ToString(), "--node", "a", "--cluster-name", cluster, "--wait", "60s"]);
            Assert.Equal(0, leave.ExitCode);
            Assert.Contains("b,c,d", leave.Output, StringComparison.Ordinal);

            using var check = await ConnectionMultiplexer.ConnectAsync($"{d.EndPoint},syncTimeout=20000,asyncTimeout=20000");
            for (var i = 0; i < 300; i++)
            {
                Assert.Equal($"v{i}", (string?)await check.GetDatabase().StringGetAsync($"k{i}"));
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.TerminateAsync();
                node.Dispose();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static string Info(ConnectionMultiplexer redis, DataplaneChild node) =>
        string.Join('\n', redis.GetServer(node.EndPoint!).Info("cluster").SelectMany(g => g).Select(p => $"{p.Key}:{p.Value}"));

    private static string[] Args(string name, string peerListen, string root, string cluster, string flag, string value) =>
        ["--node-id", name, "--listen", "127.0.0.1:0", "--peer-listen", peerListen, "--data", Path.Combine(root, name), "--cluster-name", cluster,
         "--heartbeat-interval", "100ms", flag, value];
}

using System.Net;
using StackExchange.Redis;
using DataPlane.Testing;

namespace DataPlane.Store.Cluster.Tests;

/// <summary>Real <c>dataplane store</c> processes, killed with SIGKILL and restarted while a client keeps writing.</summary>
public sealed class CheckerTests : IDisposable
{
    private static readonly string[] Names = ["a", "b", "c"];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "dp-checker-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, (IPEndPoint Client, IPEndPoint Peer)> _addresses = Names.ToDictionary(n => n, _ => (Ports.Free(), Ports.Free()));
    private readonly Dictionary<string, DataplaneChild> _nodes = [];
    private readonly string _clusterName = TestCluster.UniqueName();

    [Fact]
    public async Task AcknowledgedWrites_SurviveNodesKilledWithSigkillOneAtATime()
    {
        foreach (var name in Names)
        {
            _nodes[name] = await DataplaneChild.StartAsync("store", Args(name));
        }

        using var clients = new ClientSet(_addresses.ToDictionary(p => p.Key, p => p.Value.Client));
        var acknowledged = new List<int>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() => WriteAsync(clients, acknowledged, stop.Token));
        await WaitForMoreAsync(acknowledged, 200);
        foreach (var name in Names)
        {
            await _nodes[name].KillAsync();
            await WaitForMoreAsync(acknowledged, 200);
            _nodes[name].Dispose();
            _nodes[name] = await DataplaneChild.StartAsync("store", Args(name));
            await WaitForMoreAsync(acknowledged, 200);
        }

        await stop.CancelAsync();
        await writer;
        await AssertReadableEverywhereAsync(acknowledged);
    }

    [Fact]
    public async Task AcknowledgedWrites_SurviveEveryNodeKilledWithSigkillAtOnce()
    {
        foreach (var name in Names)
        {
            _nodes[name] = await DataplaneChild.StartAsync("store", Args(name));
        }

        var acknowledged = new List<int>();
        using (var clients = new ClientSet(_addresses.ToDictionary(p => p.Key, p => p.Value.Client)))
        {
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(() => WriteAsync(clients, acknowledged, stop.Token));
            await WaitForMoreAsync(acknowledged, 500);

            // While writes are in flight: the log's writer thread writes its batch only once a
            // second, so a write acknowledged before it reached the file would be gone from all three.
            await Task.WhenAll(_nodes.Values.Select(n => n.KillAsync()));
            await stop.CancelAsync();
            await writer;
        }

        foreach (var name in Names)
        {
            _nodes[name].Dispose();
            _nodes[name] = await DataplaneChild.StartAsync("store", Args(name));
        }

        await AssertReadableEverywhereAsync(acknowledged);
    }

    public void Dispose()
    {
        foreach (var node in _nodes.Values)
        {
            node.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Cleaned with the temp directory.
        }
    }

    private async Task AssertReadableEverywhereAsync(List<int> acknowledged)
    {
        List<int> keys;
        lock (acknowledged)
        {
            keys = [.. acknowledged];
        }

        // Fresh connections that wait for their node: the writer's fail fast while a node restarts.
        using var readers = new ClientSet(_addresses.ToDictionary(p => p.Key, p => p.Value.Client), failFast: false);
        foreach (var name in Names)
        {
            var db = readers.Db(name);
            var values = await Task.WhenAll(keys.Select(k => db.StringGetAsync($"w:{k}")));
            for (var i = 0; i < keys.Count; i++)
            {
                Assert.True(values[i] == $"v{keys[i]}", $"acknowledged write w:{keys[i]} read as '{values[i]}' through {name}");
            }
        }
    }

    /// <summary>Writes unique keys through random nodes, one at a time, recording each one acknowledged; failures are expected while a node is down.</summary>
    private static async Task WriteAsync(ClientSet clients, List<int> acknowledged, CancellationToken stop)
    {
        var random = new Random(7);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var db = clients.Db(Names[random.Next(Names.Length)]);
            try
            {
                if (await db.StringSetAsync($"w:{i}", $"v{i}"))
                {
                    lock (acknowledged)
                    {
                        acknowledged.Add(i);
                    }
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Not acknowledged: the checker makes no claim about it.
            }
        }
    }

    private static Task WaitForMoreAsync(List<int> acknowledged, int more)
    {
        int target;
        lock (acknowledged)
        {
            target = acknowledged.Count + more;
        }

        return Testing.Eventually.True(
            () =>
            {
                lock (acknowledged)
                {
                    return acknowledged.Count >= target;
                }
            },
            $"{more} more acknowledged writes",
            TimeSpan.FromSeconds(60));
    }

    private List<string> Args(string name)
    {
        var peers = string.Join(',', Names.Where(n => n != name).Select(n => $"{n}={_addresses[n].Peer}"));
        return
        [
            "--node-id", name, "--cluster-name", _clusterName, "--listen", _addresses[name].Client.ToString(), "--peer-listen", _addresses[name].Peer.ToString(),
            "--peers", peers, "--data", Path.Combine(_root, name), "--max-memory", "64mb",
            "--replicas", "3", "--read-quorum", "2", "--write-quorum", "2",
            "--request-timeout", "5s", "--suspect-after", "2s", "--heartbeat-interval", "100ms",
        ];
    }

    /// <summary>One StackExchange.Redis connection per node, reconnecting by itself across restarts.</summary>
    private sealed class ClientSet(Dictionary<string, IPEndPoint> endPoints, bool failFast = true) : IDisposable
    {
        private readonly Dictionary<string, ConnectionMultiplexer> _clients = endPoints.ToDictionary(
            p => p.Key,
            p => ConnectionMultiplexer.Connect(Options(p.Value, failFast)));

        public IDatabase Db(string name) => _clients[name].GetDatabase();

        /// <summary>With <paramref name="failFast"/>, commands to a node that is down fail at once instead of waiting in the backlog for it.</summary>
        private static ConfigurationOptions Options(IPEndPoint endPoint, bool failFast)
        {
            var options = ConfigurationOptions.Parse($"{endPoint},abortConnect=false,connectTimeout=5000,syncTimeout=20000,asyncTimeout=20000");
            options.BacklogPolicy = failFast ? BacklogPolicy.FailFast : BacklogPolicy.Default;
            return options;
        }

        public void Dispose()
        {
            foreach (var client in _clients.Values)
            {
                client.Dispose();
            }
        }
    }
}

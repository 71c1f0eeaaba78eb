using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace DataPlane.Store.Tests;

/// <summary><c>--metrics</c> serves the store's meter in Prometheus text format.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task MetricsEndpoint_ServesTheStoreMeter()
    {
        var directory = TestStore.NewDirectory();
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        try
        {
            var (child, endPoint) = await StoreProcess.StartAsync(directory, "--metrics", $"127.0.0.1:{port}");
            using (child)
            {
                await using (var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { endPoint } }))
                {
                    await redis.GetDatabase().StringSetAsync("counted", "1");
                }

                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var text = string.Empty;
                await DataPlane.Testing.Eventually.True(() =>
                {
                    text = http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")).GetAwaiter().GetResult();
                    return SeriesNames(text).Contains("dataplane_store_keys");
                }, "the store's gauges on /metrics", TimeSpan.FromSeconds(30));
                var names = SeriesNames(text);
                Assert.Contains("dataplane_store_commands", names);
                Assert.Contains("dataplane_store_connected_clients", names);
                Assert.Contains("dataplane_store_hints_refused", names);
                Assert.DoesNotContain(names, name => name.StartsWith("dataplane_store_dataplane", StringComparison.Ordinal));
                Assert.Equal(0, await child.TerminateAsync());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The metric name of every sample line (comments and labels left out).</summary>
    private static HashSet<string> SeriesNames(string text) =>
        text.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line[..line.IndexOfAny(['{', ' '])])
            .ToHashSet(StringComparer.Ordinal);
}

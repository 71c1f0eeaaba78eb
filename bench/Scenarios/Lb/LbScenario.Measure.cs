using System.Globalization;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>The measured half: upstream servers, one proxy process per policy, the open-loop client.</summary>
internal sealed partial class LbScenario
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(3);

    private static async Task<Measurement> MeasureAsync(
        string dataplane, LbParameters parameters, TimeSpan perRequestDuration, TimeSpan persistentDuration, CancellationToken cancellationToken)
    {
        var servers = new UpstreamServer[parameters.Upstreams];
        try
        {
            for (var u = 0; u < servers.Length; u++)
            {
                servers[u] = new UpstreamServer(u, parameters.Workers, parameters.MeanServiceMs(u), parameters.Jitter, parameters.Seed);
                servers[u].Start();
            }

            var endPoints = servers.Select(s => s.EndPoint).ToArray();

            // Round-robin's backlog at the slow upstream grows for the whole run and then drains at its pace.
            var requestTimeout = TimeSpan.FromSeconds(Math.Max(60, 8 * perRequestDuration.TotalSeconds));
            var results = new Dictionary<(LbPolicy, LbMode), ClientResult>();
            foreach (var policy in LbPolicyNames.All)
            {
                await using var proxy = await ProxyProcess.StartAsync(dataplane, policy, endPoints, cancellationToken);
                foreach (var mode in new[] { LbMode.PerRequest, LbMode.Persistent })
                {
                    await DrainAsync(servers, cancellationToken);
                    var client = new OpenLoopClient(proxy.EndPoint, parameters.Upstreams, requestTimeout);
                    var result = mode == LbMode.PerRequest
                        ? await client.RunPerRequestAsync(parameters.OfferedPerSecond, perRequestDuration, parameters.Seed, cancellationToken)
                        : await client.RunPersistentAsync(parameters.OfferedPerSecond, persistentDuration, parameters.Connections, parameters.Seed, cancellationToken);
                    results[(policy, mode)] = result;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {LbPolicyNames.Name(policy)} {(mode == LbMode.PerRequest ? "per-request" : "persistent")}: {result.Answered} answered, {result.Errors} errors, slow share {result.Share(LbParameters.SlowUpstream):P1}, p99 {result.Latency.P99Ms:F1} ms"));
                }
            }

            var fast = servers.Skip(1).Average(s => s.MeasuredServiceMs);
            var slow = servers[LbParameters.SlowUpstream].MeasuredServiceMs;
            var measuredCluster = parameters with { ServiceMs = fast, SlowFactor = slow / fast };
            var simulation = measuredCluster with { Load = parameters.OfferedPerSecond / measuredCluster.CapacityPerSecond };
            return new Measurement(results, simulation, fast, slow);
        }
        finally
        {
            foreach (var server in servers)
            {
                if (server is not null)
                {
                    await server.DisposeAsync();
                }
            }
        }
    }

    /// <summary>Lets requests left queued by the previous run (round-robin's backlog) finish before the next run starts.</summary>
    private static async Task DrainAsync(UpstreamServer[] servers, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DrainTimeout);
        while (servers.Any(s => s.Queued > 0))
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}

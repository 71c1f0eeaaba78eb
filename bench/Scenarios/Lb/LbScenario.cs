using System.Diagnostics;

namespace DataPlane.Bench.Scenarios.Lb;

/// <summary>
/// Issue #11's headline: what round-robin, least-conn, P2C and P2C-EWMA do when one of K upstreams
/// is 10x slower, measured through a real <c>dataplane proxy</c> process on loopback with an
/// open-loop client, beside a discrete-event simulation of the same cluster and load.
/// </summary>
/// <param name="locateProxy">Finds the dataplane.dll to measure, or null when there is none (<see cref="ProxyProcess.Locate"/>).</param>
internal sealed partial class LbScenario(Func<string?> locateProxy) : IScenario
{
    /// <summary>The scale run the simulation is asked to handle in seconds.</summary>
    private const int ScaleUpstreams = 100;
    private const int ScaleRequests = 1_000_000;

    public LbScenario()
        : this(ProxyProcess.Locate)
    {
    }

    public string Name => "lb";

    public string Description => "balancing policies with one 10x slower upstream: proxy measured beside simulation";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var parameters = new LbParameters();
        var perRequestDuration = TimeSpan.FromSeconds(context.Quick ? 4 : 20);
        var persistentDuration = TimeSpan.FromSeconds(context.Quick ? 2 : 10);

        string? skipped = null;
        Measurement? measurement = null;
        var dataplane = locateProxy();
        if (dataplane is null)
        {
            skipped = $"src/Cli's dataplane.dll was not found: build it with `dotnet build -c Release src/Cli` (or set {ProxyProcess.DllVariable})";
        }
        else
        {
            try
            {
                measurement = await MeasureAsync(dataplane, parameters, perRequestDuration, persistentDuration, cancellationToken);
            }
            catch (ScenarioSkippedException e)
            {
                skipped = e.Message;
            }
        }

        // The simulation gets the measured cluster: the servers' actual mean service times (the OS
        // oversleeps a little) and the same arrival rate, hence the same number of requests.
        var simulated = measurement?.SimulationParameters ?? parameters;
        var rows = new List<LbRow>();
        foreach (var mode in new[] { LbMode.PerRequest, LbMode.Persistent })
        {
            var requests = (int)(parameters.OfferedPerSecond * (mode == LbMode.PerRequest ? perRequestDuration : persistentDuration).TotalSeconds);
            foreach (var policy in LbPolicyNames.All)
            {
                var sim = LbSimulator.Run(simulated, policy, mode, requests);
                rows.Add(Row(policy, mode, measurement?.Results[(policy, mode)], sim));
            }
        }

        var scale = LbPolicyNames.All.Select(policy =>
        {
            var clock = Stopwatch.StartNew();
            var result = LbSimulator.Run(parameters with { Upstreams = ScaleUpstreams }, policy, LbMode.PerRequest, ScaleRequests);
            return new ScaleRow(LbPolicyNames.Name(policy), result.SlowShare, result.Latency.P50Ms, result.Latency.P99Ms, result.Latency.P999Ms, clock.Elapsed.TotalSeconds);
        }).ToList();

        var subtitle = $"K={parameters.Upstreams}, {parameters.Workers} workers each, {parameters.ServiceMs:G3} ms service, load {parameters.Load:P0}"
            + (measurement is null ? " (simulation only)" : string.Empty);
        var charts = LbCharts.Write(context.ResultsDirectory, rows, subtitle);
        var report = new ScenarioReport(
            new { parameters = Describe(parameters), measured = measurement is not null, skipped, rows, scale },
            Markdown(parameters, simulated, measurement, rows, scale, charts, perRequestDuration, persistentDuration),
            charts);
        return skipped is null ? report : throw new ScenarioSkippedException($"measured rows skipped, simulation rows written: {skipped}", report);
    }

    private static LbRow Row(LbPolicy policy, LbMode mode, ClientResult? measured, LbSimulationResult sim) => new(
        LbPolicyNames.Name(policy),
        mode == LbMode.PerRequest ? "per-request" : "persistent",
        measured?.Share(LbParameters.SlowUpstream),
        measured?.Rps,
        measured?.Latency.P50Ms,
        measured?.Latency.P90Ms,
        measured?.Latency.P99Ms,
        measured?.Latency.P999Ms,
        measured?.Errors,
        sim.SlowShare,
        sim.Latency.P50Ms,
        sim.Latency.P90Ms,
        sim.Latency.P99Ms,
        sim.Latency.P999Ms);

    private static object Describe(LbParameters p) => new
    {
        upstreams = p.Upstreams,
        workers = p.Workers,
        serviceMs = p.ServiceMs,
        slowFactor = p.SlowFactor,
        jitter = p.Jitter,
        load = p.Load,
        offeredRps = p.OfferedPerSecond,
        persistentConnections = p.Connections,
        ewmaDecayMs = p.EwmaDecayMs,
    };

    private sealed record ScaleRow(string Policy, double SlowShare, double P50Ms, double P99Ms, double P999Ms, double WallSeconds);
}

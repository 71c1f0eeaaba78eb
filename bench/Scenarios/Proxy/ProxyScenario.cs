using System.Globalization;
using DataPlane.Bench.Scenarios.Proxy;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// Request/response through the proxy against the same nginx upstream: direct, through `dataplane
/// proxy` (on its epoll transport and on the runtime's sockets) and through HAProxy (mode tcp), with
/// keep-alive and with a new connection per request; then bulk throughput through each, in Gbit/s.
/// Rounds are interleaved, their order rotated, so that noise on the shared machine and the place
/// in a round spread over every target alike (<see cref="Rounds"/>).
/// </summary>
internal sealed class ProxyScenario : IScenario
{
    private static readonly string[] Targets = ["direct", "dataplane", "dataplane-sockets", "haproxy"];

    public string Name => "proxy";

    public string Description => "TCP proxy: wrk + nginx direct, via dataplane proxy, via HAProxy; keep-alive, conn-per-request, bulk Gbit/s";

    public Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken) =>
        Task.Run(() => Run(context, cancellationToken), cancellationToken);

    private static ScenarioReport Run(ScenarioContext context, CancellationToken cancellationToken)
    {
        var wrk = ExternalProcess.Find("wrk") ?? throw new ScenarioSkippedException("wrk is not installed (apt-get install wrk)");
        var nginx = ExternalProcess.Find("nginx") ?? throw new ScenarioSkippedException("nginx is not installed (apt-get install nginx)");
        var haproxy = ExternalProcess.Find("haproxy") ?? throw new ScenarioSkippedException("haproxy is not installed (apt-get install haproxy)");
        var dataplane = Path.Combine(AppContext.BaseDirectory, "dataplane");
        if (!File.Exists(dataplane))
        {
            throw new ScenarioSkippedException($"the dataplane executable is not beside the bench ({dataplane})");
        }

        // As many rounds as targets, so that the rotation gives each target each place once; 8 s each keeps the
        // full run's length of the three rounds of 10 s it replaced.
        var rounds = context.Quick ? 1 : Targets.Length;
        var duration = TimeSpan.FromSeconds(context.Quick ? 3 : 8);
        var bulkBytes = (context.Quick ? 512L : 2048L) * 1024 * 1024;
        var dir = Directory.CreateTempSubdirectory("dataplane-bench-proxy-").FullName;
        try
        {
            using var bulk = new BulkTransfer();
            using var servers = new ProxyScenarioServers(dir, nginx, haproxy, dataplane, bulk.Port);

            var http = new Dictionary<string, int>
            {
                ["direct"] = servers.NginxPort,
                ["dataplane"] = servers.Dataplane.Http,
                ["dataplane-sockets"] = servers.DataplaneSockets.Http,
                ["haproxy"] = servers.Haproxy.Http,
            };
            var bulkPorts = new Dictionary<string, int>
            {
                ["direct"] = bulk.Port,
                ["dataplane"] = servers.Dataplane.Bulk,
                ["dataplane-sockets"] = servers.DataplaneSockets.Bulk,
                ["haproxy"] = servers.Haproxy.Bulk,
            };

            // Warm-up with the measurement's own load: the JIT's second tier compiles the hot paths in the background
            // during the first seconds of load (3-5% of a core some 10 s after start), and a first round that pays for it
            // measures start-up, not the proxy; a 1 s run of 8 connections left the first round's p99 about 2x the later ones'.
            // Both modes: keep-alive never runs the accept, connect and close paths a new connection per request takes.
            foreach (var target in Targets)
            {
                Wrk.Run(wrk, $"http://127.0.0.1:{http[target]}/", 2, 50, TimeSpan.FromSeconds(3), closeEach: false);
                Wrk.Run(wrk, $"http://127.0.0.1:{http[target]}/", 2, 50, TimeSpan.FromSeconds(3), closeEach: true);
            }

            var rows = new List<ProxyRow>();
            foreach (var (mode, close) in new[] { ("keepalive", false), ("close", true) })
            {
                var runs = Targets.ToDictionary(t => t, _ => new List<WrkResult>());
                for (var round = 0; round < rounds; round++)
                {
                    foreach (var target in Rounds.Order(Targets, round))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        runs[target].Add(Wrk.Run(wrk, $"http://127.0.0.1:{http[target]}/", 2, 50, duration, close));
                    }
                }

                rows.AddRange(Summarise(mode, runs));
            }

            var bulkRows = new List<BulkRow>();
            var gbps = Targets.ToDictionary(t => t, _ => new List<double>());
            for (var round = 0; round < rounds; round++)
            {
                foreach (var target in Rounds.Order(Targets, round))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    gbps[target].Add(BulkTransfer.Measure(bulkPorts[target], bulkBytes));
                }
            }

            var bulkMedian = gbps.ToDictionary(kv => kv.Key, kv => Rounds.Median(kv.Value));
            foreach (var target in Targets)
            {
                bulkRows.Add(new BulkRow(target, bulkMedian[target], bulkMedian[target] / bulkMedian["direct"], bulkMedian[target] / bulkMedian["haproxy"]));
            }

            return Report(rows, bulkRows, rounds, duration, bulkBytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Each figure is its own median over the rounds (the p99 of the round with the median req/s was a
    /// draw from the p99's spread, which is wider than the gaps the goal is judged by); the p99's range
    /// is kept so that a reader can tell a gap from that spread.
    /// </summary>
    private static IEnumerable<ProxyRow> Summarise(string mode, Dictionary<string, List<WrkResult>> runs)
    {
        var rps = runs.ToDictionary(kv => kv.Key, kv => Rounds.Median(kv.Value.Select(r => r.Rps)));
        foreach (var target in Targets)
        {
            var r = runs[target];
            var errors = r.Where(x => x.Errors is not null).Select(x => x.Errors).ToList();
            yield return new ProxyRow(
                mode,
                target,
                rps[target],
                Rounds.Median(r.Select(x => x.P50Ms)),
                Rounds.Median(r.Select(x => x.P99Ms)),
                r.Min(x => x.P99Ms),
                r.Max(x => x.P99Ms),
                rps[target] / rps["direct"],
                rps[target] / rps["haproxy"],
                errors.Count == 0 ? null : string.Join(" | ", errors));
        }
    }

    private static ScenarioReport Report(List<ProxyRow> rows, List<BulkRow> bulk, int rounds, TimeSpan duration, long bulkBytes)
    {
        var table = new Table("mode", "target", "req/s", "p50 ms", "p99 ms", "p99 range ms", "x direct", "x HAProxy");
        foreach (var r in rows)
        {
            table.Add(r.Mode, r.Target, r.Rps, r.P50Ms, r.P99Ms, string.Create(CultureInfo.InvariantCulture, $"{r.P99MinMs:0.00}-{r.P99MaxMs:0.00}"), r.RatioToDirect, r.RatioToHaproxy);
        }

        var bulkTable = new Table("target", "Gbit/s", "x direct", "x HAProxy");
        foreach (var b in bulk)
        {
            bulkTable.Add(b.Target, b.Gbps, b.RatioToDirect, b.RatioToHaproxy);
        }

        var errors = rows.Where(r => r.Errors is not null).Select(r => $"{r.Mode}/{r.Target}: {r.Errors}").ToList();
        var markdown = string.Create(CultureInfo.InvariantCulture, $"""
            wrk -t2 -c50 against nginx 1.22 (1 worker, `return 200`), {rounds} interleaved round(s) of {duration.TotalSeconds:F0} s, each round's order
            rotated by one so that every target runs in every place; req/s, p50 and p99 each the median of its rounds, the p99's range beside it;
            `close` sends `Connection: close` (a new connection per request). HAProxy 2.6 `mode tcp` with its default threads;
            `dataplane` is the `dataplane proxy` executable on its epoll transport (the default on Linux), `dataplane-sockets`
            the same with `--transport sockets` (the runtime's sockets, inline completions on). Two cores shared by everything: read the ratios.

            {table}
            Bulk: one connection sends {bulkBytes / (1024 * 1024)} MiB to a sink that discards it (median of {rounds}).

            {bulkTable}
            {(errors.Count == 0 ? string.Empty : "wrk socket errors: " + string.Join("; ", errors))}
            """);
        return new ScenarioReport(new { rows, bulk }, markdown);
    }
}

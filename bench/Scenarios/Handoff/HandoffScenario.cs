using System.Globalization;
using DataPlane.Bench.Scenarios.Handoff;
using DataPlane.Bench.Scenarios.Proxy;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// wrk through `dataplane proxy` to nginx, each run once without and once with a handoff to a fresh
/// process a third of the way in: a new connection per request with the default handoff (listeners
/// move, the old process drains), and keep-alive with `--handoff-connections` (wrk's connections
/// themselves move). Rounds alternate, so the machine's noise falls on both alike.
/// </summary>
internal sealed class HandoffScenario : IScenario
{
    public string Name => "handoff";

    public string Description => "proxy handoff: wrk req/s and p99 across a handoff vs without one; handoff time";

    public Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken) =>
        Task.Run(() => Run(context, cancellationToken), cancellationToken);

    private static ScenarioReport Run(ScenarioContext context, CancellationToken cancellationToken)
    {
        var wrk = ExternalProcess.Find("wrk") ?? throw new ScenarioSkippedException("wrk is not installed (apt-get install wrk)");
        var nginx = ExternalProcess.Find("nginx") ?? throw new ScenarioSkippedException("nginx is not installed (apt-get install nginx)");
        var dataplane = Path.Combine(AppContext.BaseDirectory, "dataplane");
        if (!File.Exists(dataplane))
        {
            throw new ScenarioSkippedException($"the dataplane executable is not beside the bench ({dataplane})");
        }

        var rounds = context.Quick ? 1 : 3;
        var duration = TimeSpan.FromSeconds(context.Quick ? 4 : 9);
        var dir = Directory.CreateTempSubdirectory("dataplane-bench-handoff-").FullName;
        try
        {
            var nginxPort = ExternalProcess.FreePort();
            using var upstream = new ExternalProcess(nginx, ["-p", dir, "-c", Nginx.WriteConfig(dir, nginxPort)]);
            upstream.WaitForPort(nginxPort, TimeSpan.FromSeconds(30));

            var rows = new List<HandoffRow>();
            foreach (var (mode, close, migrate) in new[] { ("close, drain", true, false), ("keep-alive, --handoff-connections", false, true) })
            {
                var port = ExternalProcess.FreePort();
                string[] arguments = ["proxy", "--listen", $"127.0.0.1:{port}", "--upstream", $"127.0.0.1:{nginxPort}", "--handoff-socket", Path.Combine(dir, $"handoff-{port}.sock"), "--drain-timeout", "30s", .. migrate ? ["--handoff-connections"] : Array.Empty<string>()];
                using var chain = new ProxyChain(dataplane, port, arguments);
                var url = $"http://127.0.0.1:{port}/";
                Wrk.Run(wrk, url, 1, 8, TimeSpan.FromSeconds(1), close);

                var without = new List<WrkResult>();
                var with = new List<(WrkResult Result, double HandoffMs, double ConversationMs, int Migrated)>();
                for (var round = 0; round < rounds; round++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    without.Add(Wrk.Run(wrk, url, 2, 50, duration, close));

                    var running = Task.Run(() => Wrk.Run(wrk, url, 2, 50, duration, close), cancellationToken);
                    Thread.Sleep(duration / 3);
                    var (handoffMs, conversationMs, migrated) = chain.HandOver();
                    with.Add((running.GetAwaiter().GetResult(), handoffMs, conversationMs, migrated));
                }

                var baseline = without.OrderBy(r => r.Rps).ElementAt(rounds / 2);
                var handedOver = with.OrderBy(r => r.Result.Rps).ElementAt(rounds / 2);
                var errors = string.Join("; ", without.Concat(with.Select(w => w.Result)).Select(r => r.Errors).OfType<string>());
                rows.Add(new HandoffRow(mode, "no handoff", baseline.Rps, baseline.P50Ms, baseline.P99Ms, 1.0, null, null, null, baseline.Errors));
                rows.Add(new HandoffRow(
                    mode, "one handoff", handedOver.Result.Rps, handedOver.Result.P50Ms, handedOver.Result.P99Ms, handedOver.Result.Rps / baseline.Rps,
                    with.Select(w => w.HandoffMs).Order().ElementAt(rounds / 2),
                    with.Select(w => w.ConversationMs).Order().ElementAt(rounds / 2),
                    handedOver.Migrated,
                    errors.Length == 0 ? null : errors));
            }

            return Report(rows, rounds, duration);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static ScenarioReport Report(List<HandoffRow> rows, int rounds, TimeSpan duration)
    {
        var table = new Table("mode", "run", "req/s", "p50 ms", "p99 ms", "x no handoff", "handoff ms", "old side ms", "migrated", "socket errors");
        foreach (var r in rows)
        {
            table.Add(r.Mode, r.Run, r.Rps, r.P50Ms, r.P99Ms, r.RatioToNoHandoff, Cell(r.HandoffMs), Cell(r.ConversationMs), r.Migrated?.ToString(CultureInfo.InvariantCulture) ?? "", r.Errors ?? "none");
        }

        var markdown = string.Create(CultureInfo.InvariantCulture, $"""
            wrk -t2 -c50 through `dataplane proxy` to nginx (1 worker, `return 200`), median of {rounds} round(s) of {duration.TotalSeconds:F0} s
            each way; in the "one handoff" run a new `dataplane proxy` process is started on the same handoff socket a third of
            the way in. `close` sends `Connection: close` (a new connection per request: the old process drains);
            keep-alive runs with `--handoff-connections`, so wrk's 50 connections move to the new process. Handoff ms: from
            starting the new process until it accepts (the old one stopped accepting just before; .NET start-up included);
            old side ms: the old process's own count, from the new process connecting to its STARTED. Two shared cores.

            {table}
            """);
        return new ScenarioReport(new { rows }, markdown);
    }

    private static string Cell(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("F0", CultureInfo.InvariantCulture) : "";
}

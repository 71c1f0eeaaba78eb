using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// redis-benchmark against <c>dataplane store</c> (its own process, --fsync everysec) and, in the same
/// run, against Debian's redis-server with appendonly yes / appendfsync everysec: SET and GET at -P 1
/// and -P 16, ops/s and p50/p99, and the ratio. A third column runs the store without inline socket
/// completions, to show what that setting is worth.
/// </summary>
internal sealed class StoreScenario : IScenario
{
    private static readonly int[] Pipelines = [1, 16];

    public string Name => "store";

    public string Description => "dataplane store vs redis-server (AOF everysec) with redis-benchmark: SET/GET ops/s, p50/p99";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        foreach (var tool in new[] { "redis-benchmark", "redis-server" })
        {
            if (!OnPath(tool))
            {
                throw new ScenarioSkippedException($"{tool} is not installed (Debian: apt-get install redis-tools redis-server).");
            }
        }

        var requests = context.Quick ? 100_000 : 200_000;
        var rounds = context.Quick ? 1 : 3;
        var root = Directory.CreateTempSubdirectory("dataplane-store-bench-").FullName;
        try
        {
            var results = new Dictionary<(string Target, string Test, int Pipeline), List<Sample>>();
            await using (var redis = await Target.StartRedisAsync(Path.Combine(root, "redis"), cancellationToken))
            await using (var store = await Target.StartStoreAsync(Path.Combine(root, "store"), inline: true, cancellationToken))
            await using (var storeNoInline = await Target.StartStoreAsync(Path.Combine(root, "store-noinline"), inline: false, cancellationToken))
            {
                var targets = new[] { redis, store, storeNoInline };
                foreach (var target in targets)
                {
                    await Benchmark(target.Port, 1, 20_000, cancellationToken); // warm-up: JIT tiers, FASTER pages, AOF file
                }

                for (var round = 0; round < rounds; round++)
                {
                    foreach (var pipeline in Pipelines)
                    {
                        foreach (var target in targets)
                        {
                            foreach (var (test, sample) in await Benchmark(target.Port, pipeline, requests, cancellationToken))
                            {
                                var key = (target.Name, test, pipeline);
                                if (!results.TryGetValue(key, out var list))
                                {
                                    results[key] = list = [];
                                }

                                list.Add(sample);
                            }
                        }
                    }
                }
            }

            return Report(results, requests, rounds);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static ScenarioReport Report(Dictionary<(string Target, string Test, int Pipeline), List<Sample>> results, int requests, int rounds)
    {
        var rows = new List<object>();
        var table = new Table("test", "-P", "dataplane ops/s", "p50 ms", "p99 ms", "redis ops/s", "p50 ms", "p99 ms", "x redis", "no-inline ops/s", "x redis");
        foreach (var pipeline in Pipelines)
        {
            foreach (var test in new[] { "SET", "GET" })
            {
                var ours = Median(results[("dataplane", test, pipeline)]);
                var theirs = Median(results[("redis", test, pipeline)]);
                var noInline = Median(results[("dataplane-noinline", test, pipeline)]);
                rows.Add(new
                {
                    test,
                    pipeline,
                    opsPerSec = ours.OpsPerSec,
                    p50Ms = ours.P50Ms,
                    p99Ms = ours.P99Ms,
                    redisOpsPerSec = theirs.OpsPerSec,
                    redisP50Ms = theirs.P50Ms,
                    redisP99Ms = theirs.P99Ms,
                    noInlineOpsPerSec = noInline.OpsPerSec,
                });
                table.Add(test, pipeline, ours.OpsPerSec, ours.P50Ms, ours.P99Ms, theirs.OpsPerSec, theirs.P50Ms, theirs.P99Ms,
                    ours.OpsPerSec / theirs.OpsPerSec, noInline.OpsPerSec, noInline.OpsPerSec / theirs.OpsPerSec);
            }
        }

        var markdown = $"""
            `redis-benchmark -t set,get -n {requests:N0} -c 50 -d 100 -r 100000 -P 1|16`, median of {rounds} round(s), each
            target its own process on loopback: `dataplane store --fsync everysec` (inline socket completions, the
            executable's default; and with `--inline-completions false`) and `redis-server --appendonly yes
            --appendfsync everysec` in the same run. Goal: >= 1.0x redis at -P 16, >= 0.9x at -P 1.

            {table}
            """;
        return new ScenarioReport(new { rows }, markdown);
    }

    private static Sample Median(List<Sample> samples)
    {
        var sorted = samples.OrderBy(s => s.OpsPerSec).ToList();
        return sorted[sorted.Count / 2];
    }

    private static async Task<List<(string Test, Sample Sample)>> Benchmark(int port, int pipeline, int requests, CancellationToken cancellationToken)
    {
        var output = await Run("redis-benchmark", cancellationToken, "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture),
            "-t", "set,get", "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", "50", "-d", "100", "-r", "100000",
            "-P", pipeline.ToString(CultureInfo.InvariantCulture), "--csv");
        var samples = new List<(string, Sample)>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1))
        {
            var cells = line.Split(',').Select(c => c.Trim('"')).ToArray();
            double Cell(int i) => double.Parse(cells[i], CultureInfo.InvariantCulture);
            samples.Add((cells[0], new Sample(Cell(1), Cell(4), Cell(6))));
        }

        return samples;
    }

    private static async Task<string> Run(string tool, CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(5), cancellationToken);
        return await output;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(dir => File.Exists(Path.Combine(dir, tool)));

    private sealed record Sample(double OpsPerSec, double P50Ms, double P99Ms);

    /// <summary>A server process under test, ended by its own PID.</summary>
    private sealed class Target(string name, Process process, int port) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public int Port { get; } = port;

        public static async Task<Target> StartRedisAsync(string directory, CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(directory);
            var port = FreePort();
            var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", string.Empty, "--dir", directory, "--daemonize", "no" })
            {
                start.ArgumentList.Add(a);
            }

            var target = new Target("redis", Process.Start(start)!, port);
            await target.WaitForPortAsync(cancellationToken);
            return target;
        }

        public static async Task<Target> StartStoreAsync(string directory, bool inline, CancellationToken cancellationToken)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "dataplane.dll"), "store", "--listen", $"127.0.0.1:{port}",
                "--data", directory, "--fsync", "everysec", "--inline-completions", inline ? "true" : "false" })
            {
                start.ArgumentList.Add(a);
            }

            var target = new Target(inline ? "dataplane" : "dataplane-noinline", Process.Start(start)!, port);
            await target.WaitForPortAsync(cancellationToken);
            return target;
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        private async Task WaitForPortAsync(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                    return;
                }
                catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited)
                {
                    await Task.Delay(100, cancellationToken);
                }
            }
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// redis-benchmark against <c>dataplane store</c> (its own process, --fsync everysec) and, in the same
/// run, against Debian's redis-server with appendonly yes / appendfsync everysec: SET and GET at -P 1
/// and -P 16, ops/s, p50/p99, each server's CPU time per operation, and the ratio. A third column runs
/// the store on the runtime's sockets (<c>--transport sockets</c>), to show what its own epoll loop is worth.
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
            await using (var store = await Target.StartStoreAsync(Path.Combine(root, "store"), sockets: false, cancellationToken))
            await using (var storeSockets = await Target.StartStoreAsync(Path.Combine(root, "store-sockets"), sockets: true, cancellationToken))
            {
                var targets = new[] { redis, store, storeSockets };
                foreach (var target in targets)
                {
                    await Benchmark(target, 1, 20_000, cancellationToken); // warm-up: JIT tiers, FASTER pages, AOF file
                }

                for (var round = 0; round < rounds; round++)
                {
                    foreach (var pipeline in Pipelines)
                    {
                        foreach (var target in targets)
                        {
                            foreach (var (test, sample) in await Benchmark(target, pipeline, requests, cancellationToken))
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
        var table = new Table("test", "-P", "dataplane ops/s", "p50 ms", "p99 ms", "CPU us/op", "redis ops/s", "p50 ms", "p99 ms", "CPU us/op", "x redis", "sockets ops/s", "CPU us/op", "x redis");
        foreach (var pipeline in Pipelines)
        {
            foreach (var test in new[] { "SET", "GET" })
            {
                var ours = Median(results[("dataplane", test, pipeline)]);
                var theirs = Median(results[("redis", test, pipeline)]);
                var sockets = Median(results[("dataplane-sockets", test, pipeline)]);
                rows.Add(new
                {
                    test,
                    pipeline,
                    opsPerSec = ours.OpsPerSec,
                    p50Ms = ours.P50Ms,
                    p99Ms = ours.P99Ms,
                    cpuUsPerOp = ours.CpuUsPerOp,
                    redisOpsPerSec = theirs.OpsPerSec,
                    redisP50Ms = theirs.P50Ms,
                    redisP99Ms = theirs.P99Ms,
                    redisCpuUsPerOp = theirs.CpuUsPerOp,
                    socketsOpsPerSec = sockets.OpsPerSec,
                    socketsCpuUsPerOp = sockets.CpuUsPerOp,
                });
                table.Add(test, pipeline, ours.OpsPerSec, ours.P50Ms, ours.P99Ms, ours.CpuUsPerOp, theirs.OpsPerSec, theirs.P50Ms, theirs.P99Ms,
                    theirs.CpuUsPerOp, ours.OpsPerSec / theirs.OpsPerSec, sockets.OpsPerSec, sockets.CpuUsPerOp, sockets.OpsPerSec / theirs.OpsPerSec);
            }
        }

        var markdown = $"""
            `redis-benchmark -t set,get -n {requests:N0} -c 50 -d 100 -r 100000 -P 1|16`, median of {rounds} round(s), each
            target its own process on loopback: `dataplane store --fsync everysec` (its own epoll loop, the default on
            Linux; and with `--transport sockets`, the runtime's sockets with inline completions) and `redis-server
            --appendonly yes --appendfsync everysec` in the same run, SET and GET each its own redis-benchmark run.
            CPU us/op is the server process's user+system time over the run divided by its requests (it survives
            other load on the machine better than ops/s). Goal: >= 1.0x redis at -P 16, >= 0.9x at -P 1.

            {table}
            """;
        return new ScenarioReport(new { rows }, markdown);
    }

    private static Sample Median(List<Sample> samples)
    {
        var sorted = samples.OrderBy(s => s.OpsPerSec).ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>SET, then GET, each its own redis-benchmark run, so the server's CPU time is known per test.</summary>
    private static async Task<List<(string Test, Sample Sample)>> Benchmark(Target target, int pipeline, int requests, CancellationToken cancellationToken)
    {
        var samples = new List<(string, Sample)>();
        foreach (var test in new[] { "set", "get" })
        {
            var cpu = target.CpuTime;
            var output = await Run("redis-benchmark", cancellationToken, "-h", "127.0.0.1", "-p", target.Port.ToString(CultureInfo.InvariantCulture),
                "-t", test, "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", "50", "-d", "100", "-r", "100000",
                "-P", pipeline.ToString(CultureInfo.InvariantCulture), "--csv");
            var cpuUsPerOp = (target.CpuTime - cpu).TotalMicroseconds / requests;
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1))
            {
                var cells = line.Split(',').Select(c => c.Trim('"')).ToArray();
                double Cell(int i) => double.Parse(cells[i], CultureInfo.InvariantCulture);
                samples.Add((cells[0], new Sample(Cell(1), Cell(4), Cell(6), cpuUsPerOp)));
            }
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

    private sealed record Sample(double OpsPerSec, double P50Ms, double P99Ms, double CpuUsPerOp);

    /// <summary>A server process under test, ended by its own PID.</summary>
    private sealed class Target(string name, Process process, int port) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public int Port { get; } = port;

        /// <summary>The server process's user and system time so far.</summary>
        public TimeSpan CpuTime
        {
            get
            {
                process.Refresh();
                return process.TotalProcessorTime;
            }
        }

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

        public static async Task<Target> StartStoreAsync(string directory, bool sockets, CancellationToken cancellationToken)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "dataplane.dll"), "store", "--listen", $"127.0.0.1:{port}",
                "--data", directory, "--fsync", "everysec" })
            {
                start.ArgumentList.Add(a);
            }

            if (sockets)
            {
                start.ArgumentList.Add("--transport");
                start.ArgumentList.Add("sockets");
            }

            var target = new Target(sockets ? "dataplane-sockets" : "dataplane", Process.Start(start)!, port);
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

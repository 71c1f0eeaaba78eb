using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DataPlane.Store;
using DataPlane.Store.Cluster;

namespace DataPlane.Bench.Scenarios;

/// <summary>
/// The cost of replication: redis-benchmark (SET and GET, 16-deep pipelines, 50 clients, 100-byte
/// values) against one node of a 3-node cluster (N=3, W=2, R=2) and, in the same run, against a
/// single node; every server runs in this process on loopback.
/// </summary>
internal sealed class StoreClusterScenario : IScenario
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public string Name => "store-cluster";

    public string Description => "store: redis-benchmark SET/GET against one node of a 3-node cluster (N=3,W=2,R=2) vs a single node";

    public async Task<ScenarioReport> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        if (!File.Exists("/usr/bin/redis-benchmark"))
        {
            throw new ScenarioSkippedException("redis-benchmark is not installed (apt-get install redis-tools)");
        }

        // As `dataplane store` runs by default (--inline-completions): read when this process makes its first socket.
        if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }

        var rounds = context.Quick ? 2 : 4;
        var requests = context.Quick ? 100_000 : 500_000;
        var root = Path.Combine(Path.GetTempPath(), "dp-bench-cluster-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var single = new StoreServer(new StoreOptions { Listen = new(IPAddress.Loopback, 0), DataDirectory = Path.Combine(root, "single"), MaxMemory = 256L << 20 });
            await single.StartAsync(cancellationToken);
            var nodes = await StartClusterAsync(root, cancellationToken);
            try
            {
                var runs = await RunRoundsAsync([("single", single.EndPoint), ("cluster", nodes[0].EndPoint)], rounds, requests, cancellationToken);
                return Report(runs, rounds, requests);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static ScenarioReport Report(Dictionary<(string Target, string Test), List<Measured>> runs, int rounds, int requests)
    {
        var rows = new List<ClusterRow>();
        var table = new Table("test", "cluster ops/s", "single ops/s", "cluster/single", "per round", "cluster p99 ms", "single p99 ms", "cluster CPU us/op", "single CPU us/op", "cluster B/op", "single B/op");
        foreach (var test in (string[])["SET", "GET"])
        {
            var (c, s) = (runs[("cluster", test)], runs[("single", test)]);
            (double Cluster, double Single) Median(Func<Measured, double> figure) => (Rounds.Median(c.Select(figure)), Rounds.Median(s.Select(figure)));
            var (ops, p99, cpu, bytes) = (Median(m => m.Ops), Median(m => m.P99), Median(m => m.CpuUsPerOp), Median(m => m.BytesPerOp));
            var row = new ClusterRow(test, ops.Cluster, ops.Single, p99.Cluster, p99.Single, cpu.Cluster, cpu.Single, bytes.Cluster, bytes.Single);
            rows.Add(row);
            var ratios = c.Zip(s, (cluster, one) => cluster.Ops / one.Ops).ToArray();
            table.Add(
                test, row.ClusterOpsPerSec, row.SingleOpsPerSec, row.ClusterOpsPerSec / row.SingleOpsPerSec, string.Create(CultureInfo.InvariantCulture, $"{ratios.Min():F2}-{ratios.Max():F2}"),
                row.ClusterP99Ms, row.SingleP99Ms, row.ClusterCpuUsPerOp, row.SingleCpuUsPerOp, row.ClusterBytesPerOp, row.SingleBytesPerOp);
        }

        var markdown = $"""
            `redis-benchmark -t set,get -P 16 -c 50 -d 100 -r 100000 -n {requests}` against node a of a 3-node
            cluster (N=3, W=2, R=2, all nodes in this process) and against a single node, in {rounds} rounds that alternate
            which of the two runs first; each figure is the median of its rounds ("per round": the lowest and highest of the
            rounds' own ratios), after one unmeasured warm-up of a tenth of the requests per test and target; CPU and
            allocated bytes per operation are this process's (every server, no client) while each test ran, the figures
            that stay comparable when other load on the machine makes the ops/s noisy; socket completions inline
            ({InlineCompletions}={Environment.GetEnvironmentVariable(InlineCompletions)}), as `dataplane store` runs by default.

            {table}
            """;
        return new ScenarioReport(new { rows }, markdown);
    }

    private static async Task<StoreServer[]> StartClusterAsync(string root, CancellationToken cancellationToken)
    {
        string[] names = ["a", "b", "c"];
        // Every port chosen before any node binds, all distinct: a node's client port taken with port 0
        // could otherwise land on another node's peer port that is free only until that node starts.
        var taken = new HashSet<int>();
        var peers = names.ToDictionary(n => n, _ => FreePort(taken));
        var clients = names.ToDictionary(n => n, _ => FreePort(taken));
        var nodes = new StoreServer[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var options = new ClusterOptions { NodeId = names[i], PeerListen = peers[names[i]] };
            foreach (var other in names.Where(n => n != names[i]))
            {
                options.Peers[other] = peers[other];
            }

            nodes[i] = new StoreServer(new StoreOptions { Listen = clients[names[i]], DataDirectory = Path.Combine(root, names[i]), MaxMemory = 256L << 20, Cluster = options });
            await nodes[i].StartAsync(cancellationToken);
        }

        var deadline = Stopwatch.StartNew();
        while (nodes.Any(n => n.ClusterNode!.Peers.Any(p => p.Suspected)))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("the cluster's nodes did not connect to each other");
            }

            await Task.Delay(50, cancellationToken);
        }

        return nodes;
    }

    /// <summary>A free loopback port for a peer address, which every node must know before any starts.</summary>
    internal static IPEndPoint FreePort(HashSet<int> taken)
    {
        while (true)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var endPoint = (IPEndPoint)socket.LocalEndPoint!;
            if (taken.Add(endPoint.Port))
            {
                return endPoint;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="rounds"/> rounds; in each, every target runs SET, then GET (which reads the keys SET wrote), one
    /// redis-benchmark each, so each test's CPU and allocations are its own. The targets take turns at going first, so
    /// that a burst of other load on the machine falls on both alike. Each target first runs every test unmeasured for a
    /// tenth of its requests: the JIT's second tier compiles the servers' hot paths (the cluster's are new code to this
    /// process) while nothing is measured, as BenchmarkDotNet's warm-up does.
    /// </summary>
    private static async Task<Dictionary<(string Target, string Test), List<Measured>>> RunRoundsAsync(
        (string Name, IPEndPoint EndPoint)[] targets, int rounds, int requests, CancellationToken cancellationToken)
    {
        string[] tests = ["set", "get"];
        foreach (var (_, endPoint) in targets)
        {
            foreach (var test in tests)
            {
                await RedisBenchmarkAsync(endPoint, test, requests / 10, cancellationToken);
            }
        }

        var runs = new Dictionary<(string Target, string Test), List<Measured>>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, endPoint) in Rounds.Order(targets, round))
            {
                foreach (var test in tests)
                {
                    var (row, measured) = await MeasureAsync(endPoint, test, requests, cancellationToken);
                    if (!runs.TryGetValue((name, row), out var list))
                    {
                        runs[(name, row)] = list = [];
                    }

                    list.Add(measured);
                }
            }
        }

        return runs;
    }

    /// <summary>One measured redis-benchmark run: its row's name (SET, GET) and figures.</summary>
    private static async Task<(string Test, Measured Measured)> MeasureAsync(IPEndPoint endPoint, string test, int requests, CancellationToken cancellationToken)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var output = await RedisBenchmarkAsync(endPoint, test, requests, cancellationToken);
        var cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / requests;
        var bytes = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / requests;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var cells = line.Replace("\"", string.Empty, StringComparison.Ordinal).Split(',');
            if (cells.Length >= 7 && double.TryParse(cells[1], CultureInfo.InvariantCulture, out var ops) && double.TryParse(cells[6], CultureInfo.InvariantCulture, out var p99))
            {
                return (cells[0], new Measured(ops, p99, cpuUs, bytes));
            }
        }

        throw new InvalidOperationException($"redis-benchmark -t {test} printed no result row");
    }

    /// <summary>One redis-benchmark run of <paramref name="test"/>; its CSV output.</summary>
    private static async Task<string> RedisBenchmarkAsync(IPEndPoint endPoint, string test, int requests, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-h", "127.0.0.1", "-p", endPoint.Port.ToString(CultureInfo.InvariantCulture), "-t", test, "-P", "16", "-c", "50", "-d", "100", "-r", "100000", "-n", requests.ToString(CultureInfo.InvariantCulture), "--csv"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"redis-benchmark -t {test} exited with {process.ExitCode}: {await errors}");
    }

    private sealed record Measured(double Ops, double P99, double CpuUsPerOp, double BytesPerOp);

    private sealed record ClusterRow(string Test, double ClusterOpsPerSec, double SingleOpsPerSec, double ClusterP99Ms, double SingleP99Ms, double ClusterCpuUsPerOp, double SingleCpuUsPerOp, double ClusterBytesPerOp, double SingleBytesPerOp);
}

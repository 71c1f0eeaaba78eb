using System.Net;
using BenchmarkDotNet.Attributes;
using DataPlane.Proxy;
using DataPlane.Proxy.Balancing;
using DataPlane.Proxy.Upstreams;

namespace DataPlane.Bench.Micro;

/// <summary>
/// One pick of each policy over an immutable set of upstreams, health filter included (what every new
/// connection pays before its connect), with a plain modulo counter as the baseline. With two threads
/// both pick at once over the same set (shared counters and connection counts contend); the figure
/// is then the time of one pick on each thread.
/// </summary>
[MemoryDiagnoser]
public class BalancerBenchmarks
{
    private const int Picks = 4096;
    private readonly ulong[] _clientHashes = new ulong[Picks];
    private UpstreamCluster _cluster = null!;
    private UpstreamSet _set = null!;
    private int _counter;

    [Params(10, 100)]
    public int Upstreams { get; set; }

    [Params(BalancingPolicy.RoundRobin, BalancingPolicy.LeastConnections, BalancingPolicy.PowerOfTwoChoices, BalancingPolicy.PeakEwma, BalancingPolicy.RingHash)]
    public BalancingPolicy Policy { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new ProxyOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Upstreams = [.. Enumerable.Range(0, Upstreams).Select(i => new UpstreamOptions($"127.0.0.1:{20000 + i}"))],
            Policy = Policy,
        };
        _cluster = new UpstreamCluster(options, TimeProvider.System, SharedRandomSource.Instance);
        _set = _cluster.Set;
        var random = new Random(42);
        foreach (var u in _set.Items)
        {
            for (var a = random.Next(20); a > 0; a--)
            {
                u.OnConnecting();
            }

            u.RecordLatency(random.NextDouble() * 5, TimeProvider.System.GetTimestamp());
        }

        for (var i = 0; i < Picks; i++)
        {
            _clientHashes[i] = DataPlane.Ring.RingHash.Hash(BitConverter.GetBytes(0x0A000000 + i));
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Picks)]
    public int ModuloCounterBaseline() => OnEachThread(ModuloPicks);

    [Benchmark(OperationsPerInvoke = Picks)]
    public int Pick() => OnEachThread(PolicyPicks);

    private int OnEachThread(Func<int> picks)
    {
        if (Threads == 1)
        {
            return picks();
        }

        var other = Task.Run(picks);
        return picks() + other.GetAwaiter().GetResult();
    }

    private int ModuloPicks()
    {
        var sum = 0;
        for (var i = 0; i < Picks; i++)
        {
            sum += (int)((uint)Interlocked.Increment(ref _counter) % (uint)_set.Count);
        }

        return sum;
    }

    private int PolicyPicks()
    {
        var sum = 0;
        for (var i = 0; i < Picks; i++)
        {
            sum += _cluster.Pick(_set, 0, _clientHashes[i]);
        }

        return sum;
    }
}

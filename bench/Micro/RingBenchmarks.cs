using System.Text;
using BenchmarkDotNet.Attributes;
using DataPlane.Bench.Scenarios;
using DataPlane.Ring;

namespace DataPlane.Bench.Micro;

/// <summary>GetOwner and GetReplicas at 100 nodes x 150 virtual nodes, hashing included, against jump hash.</summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private const int Keys = 1024;
    private readonly byte[][] _keys = new byte[Keys][];
    private readonly string[] _stringKeys = new string[Keys];
    private readonly string[] _replicas = new string[3];
    private RingSnapshot<string> _ring = null!;

    [Params(100)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var ring = new HashRing<string>();
        for (var i = 0; i < Nodes; i++)
        {
            ring.Add($"node-{i}");
        }

        _ring = ring.Current;
        for (var i = 0; i < Keys; i++)
        {
            _stringKeys[i] = $"user:{i:D8}";
            _keys[i] = Encoding.UTF8.GetBytes(_stringKeys[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public int JumpHashBaseline()
    {
        var sum = 0;
        foreach (var key in _keys)
        {
            sum += JumpHash.Bucket(RingHash.Hash(key), Nodes);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public int GetOwnerBytes()
    {
        var sum = 0;
        foreach (var key in _keys)
        {
            sum += _ring.GetOwner(key).Length;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public int GetOwnerString()
    {
        var sum = 0;
        foreach (var key in _stringKeys)
        {
            sum += _ring.GetOwner(key).Length;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public int GetReplicas3()
    {
        var sum = 0;
        foreach (var key in _keys)
        {
            sum += _ring.GetReplicas(key, 3, _replicas);
        }

        return sum;
    }
}

using BenchmarkDotNet.Attributes;
using DataPlane.Store;
using DataPlane.Store.Replica;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The replica's merge (<see cref="ReplicaSession.Merge(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>): a
/// newer version of a present key, 100-byte values over 100,000 keys as redis-benchmark's
/// <c>-r 100000 -d 100</c> leaves them, with the Merkle digests a cluster node keeps (Q = 4096). One
/// replica, and the cluster's case of a store-cluster SET: three replicas in one process (the bench's
/// three nodes) merged in turn, each key into all three, so they share the caches as the nodes do. The
/// write-ahead log is written out every 16 merges, as a receive of a -P 16 batch secures its writes.
/// </summary>
[MemoryDiagnoser]
[InProcess]
[WarmupCount(2)]
[IterationCount(7)]
public class MergeBenchmarks
{
    private const int Keys = 100_000;
    private const int Merges = 4096;
    private const int Batch = 16;
    private const int ValueLength = StoredValue.HeaderSize + 100;
    private readonly Replica[] _replicas = new Replica[3];
    private readonly ReplicaSession[] _sessions = new ReplicaSession[3];
    private readonly byte[] _value = new byte[ValueLength];
    private readonly byte[] _key = "key:000000000000"u8.ToArray();
    private int[] _order = null!;
    private string _directory = null!;
    private long _timestamp;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("dataplane-merge-bench-").FullName;

        // Hybrid logical clock timestamps, as a coordinator issues them: each is newer than what every replica observed.
        _timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
        var random = new Random(42);
        _order = new int[Merges];
        for (var i = 0; i < Merges; i++)
        {
            _order[i] = random.Next(Keys);
        }

        for (var r = 0; r < _replicas.Length; r++)
        {
            _replicas[r] = new Replica(new ReplicaSettings(Path.Combine(_directory, r.ToString(System.Globalization.CultureInfo.InvariantCulture)), r + 1, FsyncMode.No, 256L << 20, TimeSpan.FromMinutes(10), TimeProvider.System));
            _replicas[r].EnableDigests(4096);
            _sessions[r] = _replicas[r].NewSession();
        }

        for (var i = 0; i < Keys; i++)
        {
            MergeAll(i, _replicas.Length);
        }

        foreach (var replica in _replicas)
        {
            replica.Wal.WriteOut();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        for (var r = 0; r < _replicas.Length; r++)
        {
            _sessions[r].Dispose();
            _replicas[r].Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>One replica, one session: a merge per key.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Merges)]
    public int OneReplica() => Run(1);

    /// <summary>Three replicas: each key merged into all three in turn; per merge.</summary>
    [Benchmark(OperationsPerInvoke = Merges * 3)]
    public int ThreeReplicas() => Run(3);

    private int Run(int replicas)
    {
        var applied = 0;
        for (var i = 0; i < Merges; i++)
        {
            applied += MergeAll(_order[i], replicas);
            if (i % Batch == Batch - 1)
            {
                for (var r = 0; r < replicas; r++)
                {
                    _replicas[r].Wal.WriteOut();
                }
            }
        }

        return applied;
    }

    /// <summary>A newer version of key number <paramref name="key"/> into the first <paramref name="replicas"/> replicas; how many applied it.</summary>
    private int MergeAll(int key, int replicas)
    {
        // The key is written into one buffer, as a server finds it in its receive buffer: a key array
        // per key would add a cache miss of the benchmark's own to every merge.
        System.Buffers.Text.Utf8Formatter.TryFormat(key, _key.AsSpan(4), out _, new System.Buffers.StandardFormat('D', 12));
        StoredValue.WriteHeader(_value, new ValueVersion(++_timestamp, 1), tombstone: false, expiresAtMs: 0);
        var applied = 0;
        for (var r = 0; r < replicas; r++)
        {
            applied += _sessions[r].Merge(_key, _value) == MergeOutcome.Applied ? 1 : 0;
        }

        return applied;
    }
}

using BenchmarkDotNet.Attributes;
using DataPlane.Store;
using DataPlane.Store.Replica;

namespace DataPlane.Bench.Micro;

/// <summary>
/// The replica's merge (<see cref="ReplicaSession.Merge(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>): a
/// newer version of a present key, 100-byte values over 100,000 keys as redis-benchmark's
/// <c>-r 100000 -d 100</c> leaves them, with the Merkle digests a cluster node keeps (Q = 4096). The keys
/// come in batches of 16 from one buffer, as a server finds a <c>-P 16</c> pipeline (or a peer's frames)
/// in its receive buffer, and the write-ahead log is written out after each batch, as the server secures
/// a batch's writes. One replica, and the cluster's case of a store-cluster SET: three replicas in one
/// process (the bench's three nodes), each merging the batch in turn, so they share the caches as the
/// nodes do; and that case again with the batch's FASTER buckets and records prefetched first
/// (<see cref="FasterPrefetch"/>), as the servers do.
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
    private const int KeyLength = 16;
    private const int ValueLength = StoredValue.HeaderSize + 100;
    private readonly Replica[] _replicas = new Replica[3];
    private readonly ReplicaSession[] _sessions = new ReplicaSession[3];
    private readonly byte[] _value = new byte[ValueLength];
    private readonly long[] _hashes = new long[Batch];
    private byte[] _keys = null!;
    private string _directory = null!;
    private long _timestamp;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("dataplane-merge-bench-").FullName;

        // Hybrid logical clock timestamps, as a coordinator issues them: each is newer than what every replica observed.
        _timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
        for (var r = 0; r < _replicas.Length; r++)
        {
            _replicas[r] = new Replica(new ReplicaSettings(Path.Combine(_directory, r.ToString(System.Globalization.CultureInfo.InvariantCulture)), r + 1, FsyncMode.No, 256L << 20, TimeSpan.FromMinutes(10), TimeProvider.System));
            _replicas[r].EnableDigests(4096);
            _sessions[r] = _replicas[r].NewSession();
        }

        var all = new byte[Keys * KeyLength];
        for (var i = 0; i < Keys; i++)
        {
            WriteKey(all.AsSpan(i * KeyLength, KeyLength), i);
        }

        for (var i = 0; i < Keys; i += Batch)
        {
            for (var r = 0; r < _replicas.Length; r++)
            {
                MergeBatch(r, all.AsSpan(i * KeyLength, Math.Min(Batch, Keys - i) * KeyLength));
            }
        }

        // The measured keys: random ones, one after another in one buffer.
        var random = new Random(42);
        _keys = new byte[Merges * KeyLength];
        for (var i = 0; i < Merges; i++)
        {
            WriteKey(_keys.AsSpan(i * KeyLength, KeyLength), random.Next(Keys));
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

    /// <summary>One replica, one session; per merge.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Merges)]
    public int OneReplica() => Run(1, prefetch: false);

    /// <summary>Three replicas, each merging every batch in turn; per merge.</summary>
    [Benchmark(OperationsPerInvoke = Merges * 3)]
    public int ThreeReplicas() => Run(3, prefetch: false);

    /// <summary>As <see cref="ThreeReplicas"/>, each batch's buckets and records prefetched first; per merge.</summary>
    [Benchmark(OperationsPerInvoke = Merges * 3)]
    public int ThreeReplicasPrefetched() => Run(3, prefetch: true);

    private static void WriteKey(Span<byte> destination, int key)
    {
        "key:"u8.CopyTo(destination);
        System.Buffers.Text.Utf8Formatter.TryFormat(key, destination[4..], out _, new System.Buffers.StandardFormat('D', 12));
    }

    private int Run(int replicas, bool prefetch)
    {
        var applied = 0;
        for (var i = 0; i < Merges; i += Batch)
        {
            var batch = _keys.AsSpan(i * KeyLength, Batch * KeyLength);
            for (var r = 0; r < replicas; r++)
            {
                if (prefetch)
                {
                    for (var k = 0; k < Batch; k++)
                    {
                        _hashes[k] = FasterPrefetch.Hash(batch.Slice(k * KeyLength, KeyLength));
                    }

                    _replicas[r].Prefetch!.Prefetch(_hashes);
                }

                applied += MergeBatch(r, batch);
            }
        }

        return applied;
    }

    /// <summary>A newer version of each key in <paramref name="keys"/> into replica <paramref name="replica"/>, then its log written out; how many applied.</summary>
    private int MergeBatch(int replica, ReadOnlySpan<byte> keys)
    {
        var applied = 0;
        for (var k = 0; k < keys.Length; k += KeyLength)
        {
            StoredValue.WriteHeader(_value, new ValueVersion(++_timestamp, 1), tombstone: false, expiresAtMs: 0);
            applied += _sessions[replica].Merge(keys.Slice(k, KeyLength), _value) == MergeOutcome.Applied ? 1 : 0;
        }

        _replicas[replica].Wal.WriteOut();
        return applied;
    }
}

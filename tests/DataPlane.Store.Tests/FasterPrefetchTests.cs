using System.Runtime.InteropServices;
using System.Text;
using DataPlane.Store.Replica;
using FASTER.core;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Store.Tests;

/// <summary>
/// The prefetch reads FASTER's index and page table from its fields: these tests hold it to the record
/// FASTER itself finds for each key, fresh and after a recovery, so that a FASTER upgrade that moves
/// them shows up here rather than as a silent loss of the speed-up.
/// </summary>
public sealed class FasterPrefetchTests : IDisposable
{
    private const int Keys = 2000;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly string _directory = TestStore.NewDirectory();

    [Fact]
    public void Prefetch_TouchesTheRecordFasterFindsForEachKey()
    {
        // A small index, so that buckets hold several keys and the tag decides; random keys, since keys that
        // differ in a few digits share tags under FASTER's hash.
        var keys = Enumerable.Range(0, Keys).Select(RandomKey).ToArray();
        using var replica = Open(indexBuckets: 1 << 9);
        using (var session = replica.NewSession())
        {
            for (var i = 0; i < Keys; i++)
            {
                session.Merge(keys[i], Stored(1000 + i, new string('v', i % 50)));
            }

            // Longer values for some: FASTER copies those to the tail, and the bucket points there.
            for (var i = 0; i < Keys; i += 7)
            {
                session.Merge(keys[i], Stored(5000 + i, new string('w', 200)));
            }
        }

        AssertAddressesAgree(replica, keys, buckets: 1 << 9);
    }

    [Fact]
    public async Task Prefetch_FollowsTheIndexARecoveryLoaded()
    {
        // Checkpointed with a smaller index than the one reopened with: recovery replaces the table with one
        // of the checkpoint's size, and the prefetcher must read the table recovery left.
        var keys = Enumerable.Range(0, Keys).Select(RandomKey).ToArray();
        using (var replica = Open(indexBuckets: 1 << 12))
        {
            using (var session = replica.NewSession())
            {
                for (var i = 0; i < Keys; i++)
                {
                    session.Merge(keys[i], Stored(1000 + i, "before the checkpoint"));
                }
            }

            await replica.CheckpointAsync(CancellationToken.None);
            using (var session = replica.NewSession())
            {
                for (var i = 0; i < Keys; i += 3)
                {
                    session.Merge(keys[i], Stored(9000 + i, "after it, replayed from the log"));
                }
            }

            replica.Wal.WriteOut();
        }

        using var recovered = Open(indexBuckets: 1 << 18);
        AssertAddressesAgree(recovered, keys, buckets: 1 << 12);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// Each key's prefetched address is the record FASTER finds, or none where the key's entry went to an
    /// overflow bucket (the prefetch reads only the first), and the record at that address holds the key.
    /// Keys that share a bucket and a tag with another (a chain FASTER walks on from the head the prefetch
    /// touches) are left out: the expected <paramref name="buckets"/> make the same grouping FASTER does.
    /// </summary>
    private static void AssertAddressesAgree(Replica.Replica replica, byte[][] keys, long buckets)
    {
        var prefetch = replica.Prefetch;
        Assert.NotNull(prefetch);
        var chains = keys.Select(key => FasterPrefetch.Hash(key)).CountBy(hash => (hash & (buckets - 1), (ulong)hash >> 50)).ToDictionary();
        using var session = replica.Store.For(replica.Functions).NewSession<ReplicaFunctions>(sessionVariableLengthStructSettings: replica.Lengths);
        var found = 0;
        foreach (var key in keys)
        {
            var hash = FasterPrefetch.Hash(key);
            var address = prefetch.RecordAddress(hash);
            if (address == 0 || chains[(hash & (buckets - 1), (ulong)hash >> 50)] > 1)
            {
                continue;
            }

            Assert.Equal(FasterAddress(session, key), address);

            // A record: its 8-byte header, then the key as a SpanByte (a 4-byte length, then the bytes).
            var record = prefetch.RecordPointer(hash);
            var stored = new byte[key.Length];
            Marshal.Copy(record + 12, stored, 0, key.Length);
            Assert.Equal(key.Length, Marshal.ReadInt32(record, 8));
            Assert.Equal(key, stored);
            found++;
        }

        Assert.True(found >= keys.Length * 95 / 100, $"{found} of {keys.Length} keys had their record prefetched");
    }

    private static long FasterAddress(ClientSession<SpanByte, SpanByte, SpanByte, ReplicaOutput, Empty, ReplicaFunctions> session, byte[] key)
    {
        var pinned = GC.AllocateArray<byte>(key.Length, pinned: true);
        key.CopyTo(pinned, 0);
        var keyBytes = SpanByte.FromFixedSpan(pinned.AsSpan());
        var input = default(SpanByte);
        var output = default(ReplicaOutput);
        var options = default(ReadOptions);
        var status = session.Read(ref keyBytes, ref input, ref output, ref options, out var metadata);
        Assert.True(status.Found);
        output.Value.Memory?.Dispose();
        return metadata.Address;
    }

    private Replica.Replica Open(long indexBuckets) => new(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), _clock, indexBuckets));

    private static byte[] RandomKey(int seed)
    {
        var key = new byte[16];
        new Random(seed).NextBytes(key);
        return key;
    }

    private static byte[] Stored(long timestamp, string payload)
    {
        var bytes = new byte[StoredValue.HeaderSize + Encoding.UTF8.GetByteCount(payload)];
        StoredValue.WriteHeader(bytes, new ValueVersion(timestamp, 1), tombstone: false, 0);
        Encoding.UTF8.GetBytes(payload, bytes.AsSpan(StoredValue.HeaderSize));
        return bytes;
    }
}

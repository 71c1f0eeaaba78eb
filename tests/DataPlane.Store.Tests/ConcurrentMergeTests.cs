using System.Text;
using DataPlane.Store.AntiEntropy;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Tests;

/// <summary>
/// Writes of one key from two threads at once, each on its own session as two connections (or a
/// coordinator and a peer's receiver) work: the key's stripe lock and FASTER's merge must leave the
/// store, its counts, its Merkle digests and its write-ahead log agreeing on the newest version.
/// </summary>
public sealed class ConcurrentMergeTests : IDisposable
{
    private const int Partitions = 64;
    private const int PerThread = 5000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _directory = TestStore.NewDirectory();

    [Fact]
    public async Task Merge_OneKeyFromTwoThreads_StoreDigestsAndLogReplayAllEndAtTheNewestVersion()
    {
        var key = "contended"u8.ToArray();
        var newest = new ValueVersion((long)(2 * PerThread) << 16, 1);
        using (var replica = Open())
        {
            replica.EnableDigests(Partitions);

            // One thread merges the even versions, the other the odd ones, both ascending, so the two
            // interleave on the key; payload lengths vary so FASTER updates both in place and by a copy to the tail.
            await RunTogether(replica, (session, side) =>
            {
                for (var i = 0; i < PerThread; i++)
                {
                    var timestamp = (long)((2 * i) + 1 + side) << 16;
                    session.Merge(key, Stored(new ValueVersion(timestamp, 1), new string('v', 1 + ((i + side) % 40))));
                }
            });

            Assert.Equal(newest, StoredVersion(replica, key));
            Assert.Equal(1, replica.KeyCount);
            AssertDigestsHoldOnly(replica.Digests!, key, newest);
        }

        using (var recovered = Open())
        {
            Assert.Equal(newest, StoredVersion(recovered, key));
            Assert.Equal(1, recovered.KeyCount);
            recovered.EnableDigests(Partitions);
            AssertDigestsHoldOnly(recovered.Digests!, key, newest);
        }
    }

    [Fact]
    public async Task Increment_OneKeyFromTwoThreads_LosesNoIncrement()
    {
        // INCR reads, adds and writes under the key's stripe: without mutual exclusion two threads read
        // the same value and one of the increments is lost.
        using var replica = Open();
        await RunTogether(replica, (session, _) =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                Assert.Equal(IncrementResult.Done, session.IncrementBy("counter"u8, 1, out long _));
            }
        });

        using var reader = replica.NewSession();
        Assert.True(reader.TryGet("counter"u8, out var payload, out _));
        Assert.Equal((2 * PerThread).ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.ASCII.GetString(payload));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task RunTogether(Replica.Replica replica, Action<ReplicaSession, int> work)
    {
        using var start = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(side => Task.Factory.StartNew(
            () =>
            {
                using var session = replica.NewSession();
                Assert.True(start.SignalAndWait(Bound), "the other thread did not start");
                work(session, side);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        await Task.WhenAll(threads).WaitAsync(Bound);
    }

    private static ValueVersion StoredVersion(Replica.Replica replica, byte[] key)
    {
        using var session = replica.NewSession();
        Assert.True(session.TryReadStored(key, out var stored));
        return StoredValue.Version(stored);
    }

    private static void AssertDigestsHoldOnly(MerkleForest digests, byte[] key, ValueVersion version)
    {
        var expected = new MerkleForest(Partitions);
        expected.Replace(key, null, version);
        for (var p = 0; p < Partitions; p++)
        {
            Assert.Equal(expected.Root(p), digests.Root(p));
        }
    }

    private static byte[] Stored(ValueVersion version, string payload)
    {
        var bytes = new byte[StoredValue.HeaderSize + payload.Length];
        StoredValue.WriteHeader(bytes, version, tombstone: false, 0);
        Encoding.ASCII.GetBytes(payload, bytes.AsSpan(StoredValue.HeaderSize));
        return bytes;
    }

    private Replica.Replica Open() =>
        new(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), TimeProvider.System));
}

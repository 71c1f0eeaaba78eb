using System.Text;
using DataPlane.Store.Membership;
using DataPlane.Store.Replica;

namespace DataPlane.Store.Cluster.Tests;

public sealed class PartitionScanTests : IDisposable
{
    private const int Keys = 25_000;
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-scan-").FullName;
    private readonly Replica.Replica _replica;
    private readonly Placement _placement = new(["a", "b", "c"], 4096, 3);

    public PartitionScanTests()
    {
        _replica = new Replica.Replica(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), TimeProvider.System));
        using var session = _replica.NewSession();
        for (var i = 0; i < Keys; i++)
        {
            session.Set(Encoding.ASCII.GetBytes($"key:{i}"), "v"u8, 0, SetCondition.Always, keepTtl: false, out _, out _);
        }
    }

    [Fact]
    public void Collect_WithNoKeyWanted_ReturnsInShortStretchesUntilTheTail()
    {
        var wanted = new bool[_placement.Partitions];
        var keys = new List<(byte[] Key, long Address)>();
        var (cursor, done, calls) = (0L, false, 0);
        while (!done)
        {
            var before = cursor;
            (cursor, done) = PartitionScan.Collect(_replica, _placement, wanted, cursor, maxKeys: 100, keys);
            Assert.True(cursor > before, "every call moves the cursor on");
            calls++;
        }

        // 25,000 records, at most 10,000 read per call: one call over the whole log would hold FASTER's epoch throughout.
        Assert.Equal(3, calls);
        Assert.Empty(keys);
    }

    [Fact]
    public void Collect_FindsTheWantedKeysAcrossShortStretches()
    {
        var key = Encoding.ASCII.GetBytes($"key:{Keys - 1}");
        var wanted = new bool[_placement.Partitions];
        wanted[_placement.PartitionOf(key)] = true;
        var keys = new List<(byte[] Key, long Address)>();
        var (cursor, done) = (0L, false);
        while (!done)
        {
            (cursor, done) = PartitionScan.Collect(_replica, _placement, wanted, cursor, maxKeys: 100, keys);
        }

        Assert.Contains(keys, k => k.Key.AsSpan().SequenceEqual(key));
        Assert.All(keys, k => Assert.True(wanted[_placement.PartitionOf(k.Key)]));
    }

    public void Dispose()
    {
        _replica.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

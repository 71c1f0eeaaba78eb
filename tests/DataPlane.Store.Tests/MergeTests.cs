using System.Text;
using DataPlane.Store.Replica;
using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Store.Tests;

/// <summary>The one merge rule that local writes, replication, hinted handoff and anti-entropy share: newest version wins.</summary>
public sealed class MergeTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly string _directory = TestStore.NewDirectory();
    private readonly Replica.Replica _replica;
    private readonly ReplicaSession _session;

    public MergeTests()
    {
        _replica = new Replica.Replica(new ReplicaSettings(_directory, NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), _clock));
        _session = _replica.NewSession();
    }

    [Fact]
    public void Merge_AppliesOnlyNewerVersions_NodeIdBreaksTies()
    {
        var key = "k"u8;
        Assert.Equal(MergeOutcome.Applied, _session.Merge(key, Stored(100, 2, "b")));
        Assert.Equal(MergeOutcome.Stale, _session.Merge(key, Stored(99, 9, "older")));
        Assert.Equal(MergeOutcome.Stale, _session.Merge(key, Stored(100, 2, "same")));
        Assert.Equal(MergeOutcome.Stale, _session.Merge(key, Stored(100, 1, "tie, lower node")));
        Assert.Equal("b", Get(key));
        Assert.Equal(MergeOutcome.Applied, _session.Merge(key, Stored(100, 3, "tie, higher node")));
        Assert.Equal("tie, higher node", Get(key));
        Assert.Equal(MergeOutcome.Applied, _session.Merge(key, Stored(101, 1, "a much longer value than before, copied to the tail")));
        Assert.Equal("a much longer value than before, copied to the tail", Get(key));
        Assert.Equal(1, _replica.KeyCount);
    }

    [Fact]
    public void NewerTombstone_HidesTheKey_OlderWriteCannotResurrectIt()
    {
        var key = "gone"u8;
        _session.Merge(key, Stored(10, 1, "v"));
        Assert.Equal(MergeOutcome.Applied, _session.Merge(key, Stored(20, 1, string.Empty, tombstone: true)));
        Assert.Null(Get(key));
        Assert.Equal(MergeOutcome.Stale, _session.Merge(key, Stored(15, 1, "late replica write")));
        Assert.Null(Get(key));
        Assert.Equal(0, _replica.KeyCount);
    }

    [Fact]
    public void LocalWrite_AfterObservingAFutureRemoteVersion_StillWins()
    {
        var future = (_clock.GetUtcNow().ToUnixTimeMilliseconds() + 60_000) << 16;
        _session.Merge("k"u8, Stored(future, 9, "from a fast clock"));
        Assert.True(_session.Set("k"u8, "local"u8, 0, SetCondition.Always, keepTtl: false, out _, out _));
        Assert.Equal("local", Get("k"u8));
    }

    [Fact]
    public void Tombstones_ArePurgedAfterTheGracePeriod()
    {
        _session.Set("t"u8, "v"u8, 0, SetCondition.Always, keepTtl: false, out _, out _);
        Assert.True(_session.Delete("t"u8));
        Assert.Equal(0, _replica.Sweep(_session));
        Assert.True(_session.TryReadStored("t"u8, out var stored) && StoredValue.IsTombstone(stored));
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, _replica.Sweep(_session));
        Assert.False(_session.TryReadStored("t"u8, out _));
    }

    [Fact]
    public void ExpiredValue_OnAReplicaThatBuriesIt_BecomesATombstoneOfItsVersion_ThatBeatsOlderWrites()
    {
        var (replica, session, version, now) = BuryingReplicaWithKeyExpiringIn(TimeSpan.FromSeconds(5));
        using var disposeReplica = replica;
        using var disposeSession = session;
        _clock.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(1, replica.Sweep(session));
        Assert.True(session.TryReadStored("k"u8, out var stored));
        Assert.True(StoredValue.IsTombstone(stored));
        Assert.Equal(version, StoredValue.Version(stored));
        Assert.Equal(StoredValue.HeaderSize, stored.Length);
        Assert.Equal(0, replica.KeyCount);

        // An older write still on its way (a hint) loses to it; after the grace the tombstone goes too.
        Assert.Equal(MergeOutcome.Stale, session.Merge("k"u8, Stored((now - 1_000) << 16, 3, "older")));
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, replica.Sweep(session));
        Assert.False(session.TryReadStored("k"u8, out _));
    }

    [Fact]
    public void BuriedValue_WithATtlLongerThanTheGrace_KeepsItsVersionForTheGraceAfterItsExpiry()
    {
        var (replica, session, _, now) = BuryingReplicaWithKeyExpiringIn(TimeSpan.FromMinutes(20));
        using var disposeReplica = replica;
        using var disposeSession = session;
        _clock.Advance(TimeSpan.FromMinutes(21));
        Assert.Equal(1, replica.Sweep(session));

        // Written 21 minutes ago, expired 1 minute ago: the grace (10 minutes) runs from the expiry.
        Assert.Equal(0, replica.Sweep(session));
        Assert.Equal(MergeOutcome.Stale, session.Merge("k"u8, Stored((now - 1_000) << 16, 3, "older")));
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, replica.Sweep(session));
    }

    [Fact]
    public void Sweep_AfterFindingNothingToReclaim_StillSeesAnExpiringKeyWrittenLater()
    {
        _session.Set("plain"u8, "v"u8, 0, SetCondition.Always, keepTtl: false, out _, out _);
        Assert.Equal(0, _replica.Sweep(_session));
        Assert.Equal(0, _replica.Sweep(_session));
        var expiresAt = _clock.GetUtcNow().AddSeconds(5).ToUnixTimeMilliseconds();
        _session.Set("soon"u8, "v"u8, expiresAt, SetCondition.Always, keepTtl: false, out _, out _);
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, _replica.Sweep(_session));
        Assert.False(_session.TryReadStored("soon"u8, out _));
        Assert.True(_session.TryGet("plain"u8, out _, out _));
    }

    [Fact]
    public void DropIf_JudgesItsConditionUnderTheKeysStripeLock_AndKeepsTheKeyWhenItFails()
    {
        _session.Set("kept"u8, "v"u8, 0, SetCondition.Always, keepTtl: false, out _, out _);
        _session.Set("handed away"u8, "v"u8, 0, SetCondition.Always, keepTtl: false, out _, out _);
        var underLock = 0;
        bool Judge(ReadOnlySpan<byte> key, bool drop)
        {
            // The lock every write of the key takes: a write cannot land between this answer and the delete.
            underLock += _replica.Stripes.IsHeld(DataPlane.Ring.RingHash.Hash(key)) ? 1 : 0;
            return drop;
        }

        Assert.False(_session.DropIf("kept"u8, k => Judge(k, drop: false)));
        Assert.True(_session.DropIf("handed away"u8, k => Judge(k, drop: true)));
        Assert.False(_session.DropIf("absent"u8, k => Judge(k, drop: true)));
        Assert.Equal(2, underLock);
        Assert.Equal("v", Get("kept"u8));
        Assert.False(_session.TryReadStored("handed away"u8, out _));
        Assert.Equal(1, _replica.KeyCount);
    }

    public void Dispose()
    {
        _session.Dispose();
        _replica.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string? Get(ReadOnlySpan<byte> key) => _session.TryGet(key, out var payload, out _) ? Encoding.UTF8.GetString(payload) : null;

    /// <summary>A replica that buries expired values (as a cluster node's does), tombstone grace 10 minutes, holding key "k" with a 100-byte value that expires after <paramref name="ttl"/>.</summary>
    private (Replica.Replica Replica, ReplicaSession Session, ValueVersion Version, long NowMs) BuryingReplicaWithKeyExpiringIn(TimeSpan ttl)
    {
        var replica = new Replica.Replica(new ReplicaSettings(Path.Combine(_directory, "buries"), NodeId: 1, FsyncMode.No, 64L << 20, TimeSpan.FromMinutes(10), _clock, BuryExpired: true));
        var session = replica.NewSession();
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var version = new ValueVersion(now << 16, 2);
        var expiring = new byte[StoredValue.HeaderSize + 100];
        StoredValue.WriteHeader(expiring, version, tombstone: false, expiresAtMs: now + (long)ttl.TotalMilliseconds);
        session.Merge("k"u8, expiring);
        return (replica, session, version, now);
    }

    private static byte[] Stored(long timestamp, int node, string payload, bool tombstone = false)
    {
        var bytes = new byte[StoredValue.HeaderSize + Encoding.UTF8.GetByteCount(payload)];
        StoredValue.WriteHeader(bytes, new ValueVersion(timestamp, node), tombstone, 0);
        Encoding.UTF8.GetBytes(payload, bytes.AsSpan(StoredValue.HeaderSize));
        return bytes;
    }
}

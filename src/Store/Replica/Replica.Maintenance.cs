using DataPlane.Store.Durability;
using FASTER.core;

namespace DataPlane.Store.Replica;

internal sealed partial class Replica
{
    /// <summary>
    /// Rotates the write-ahead log, takes a FASTER snapshot checkpoint (a fold-over checkpoint would
    /// make the whole log read-only and send later updates to the tail), then deletes the log segments
    /// it covers. Writes are applied before they are logged, and the rotation comes before the
    /// checkpoint starts, so a write the checkpoint misses is always in a segment that is kept.
    /// </summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var segment = await _wal.RotateAsync().ConfigureAwait(false);
            Store.CommitCookie = new CheckpointCookie(segment, Clock.Current).ToBytes();
            var (success, _) = await Store.TakeFullCheckpointAsync(CheckpointType.Snapshot, cancellationToken).ConfigureAwait(false);
            if (!success)
            {
                return;
            }

            await Store.CompleteCheckpointAsync(cancellationToken).ConfigureAwait(false);
            _wal.DeleteSegmentsBefore(segment);
            LastCheckpointUnixSeconds = Settings.Time.GetUtcNow().ToUnixTimeSeconds();
        }
        finally
        {
            _checkpointGate.Release();
        }
    }

    /// <summary>
    /// Reclaims expired keys (on a cluster node, buries them: see <see cref="ReplicaSettings.BuryExpired"/>) and tombstones older than the grace period: FASTER deletes them, after a
    /// check under the key's lock that nothing newer arrived meanwhile. Returns how many went. A store
    /// without expiring keys or tombstones is not scanned again until one is written (the count of
    /// such writes is taken before the scan, so one that lands during it brings the next scan).
    /// </summary>
    public int Sweep(ReplicaSession session)
    {
        var sweepable = Volatile.Read(ref _sweepable);
        if (sweepable == _sweptClean)
        {
            return 0;
        }

        var now = Settings.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var candidates = new List<(byte[] Key, ValueVersion Version, bool Bury)>();
        var anySweepable = false;

        // A raw scan of the in-memory log: FASTER's deduplicating iterator builds a temporary store
        // on every pass (tens of MB per second under load). Older versions of a key show up too, and
        // the purge's check under the key's lock skips them. Records already spilled to disk are not
        // swept: once expired they stay invisible, and they cost disk, not memory.
        using (var iterator = Store.Log.Scan(Store.Log.HeadAddress, Store.Log.TailAddress))
        {
            while (iterator.GetNext(out var info))
            {
                if (info.Tombstone)
                {
                    continue;
                }

                var value = iterator.GetValue().AsReadOnlySpan();
                anySweepable |= StoredValue.IsTombstone(value) || StoredValue.ExpiresAt(value) != 0;
                // An expired value that is not reclaimable is one to bury.
                var reclaimable = IsReclaimable(value, now);
                if (reclaimable || IsExpired(value, now))
                {
                    candidates.Add((iterator.GetKey().AsReadOnlySpan().ToArray(), StoredValue.Version(value), !reclaimable));
                }
            }
        }

        if (!anySweepable)
        {
            _sweptClean = sweepable;
        }

        var reclaimed = 0;
        foreach (var (key, version, bury) in candidates)
        {
            reclaimed += (bury ? session.Bury(key, version, now) : session.Purge(key, version, now)) ? 1 : 0;
        }

        return reclaimed;
    }

    /// <summary>A tombstone past the tombstone grace, or (unless expired values are buried) an expired value.</summary>
    internal bool IsReclaimable(ReadOnlySpan<byte> value, long nowMs)
    {
        if (StoredValue.IsTombstone(value))
        {
            // A deleted key's grace runs from the delete; a buried expired value's from its expiry.
            var since = Math.Max(HybridLogicalClock.PhysicalMilliseconds(StoredValue.Version(value).Timestamp), StoredValue.ExpiresAt(value));
            return since + (long)Settings.TombstoneGrace.TotalMilliseconds <= nowMs;
        }

        return !Settings.BuryExpired && IsExpired(value, nowMs);
    }

    /// <summary>A value (not a tombstone) whose expiry has passed.</summary>
    internal static bool IsExpired(ReadOnlySpan<byte> value, long nowMs)
    {
        var expires = StoredValue.ExpiresAt(value);
        return !StoredValue.IsTombstone(value) && expires != 0 && expires <= nowMs;
    }

    /// <summary>The live keys (not tombstones, not expired) at this moment, for FLUSHDB.</summary>
    internal List<byte[]> VisibleKeys()
    {
        var now = Settings.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var keys = new List<byte[]>();
        using var iterator = IterateLive();
        while (iterator.GetNext(out _))
        {
            if (StoredValue.IsVisible(iterator.GetValue().AsReadOnlySpan(), now))
            {
                keys.Add(iterator.GetKey().AsReadOnlySpan().ToArray());
            }
        }

        return keys;
    }

    internal long AppendToLog(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        if (_wal.Fault is { } fault)
        {
            throw new IOException("the write-ahead log failed: " + fault.Message, fault);
        }

        return _wal.Append(key, stored);
    }
}

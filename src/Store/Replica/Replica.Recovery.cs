using DataPlane.Store.Durability;

namespace DataPlane.Store.Replica;

internal sealed partial class Replica
{
    /// <summary>Recovery = the newest whole checkpoint, then every write-ahead log record after it, merged.</summary>
    private WriteAheadLog Recover()
    {
        var firstSegment = 0L;
        if (System.IO.Directory.Exists(CheckpointDirectory) && System.IO.Directory.EnumerateFileSystemEntries(CheckpointDirectory).Any())
        {
            Store.Recover();
            var cookie = CheckpointCookie.Parse(Store.RecoveredCommitCookie);
            firstSegment = cookie.FirstSegment;
            Clock.Observe(cookie.ClockHighWater);
            CountRecoveredKeys();
        }

        using var session = NewSession();
        var next = WalSegments.Replay(Settings.Directory, firstSegment, (key, value) =>
        {
            if (StoredValue.IsWellFormed(value))
            {
                session.MergeWithoutLog(key, value);
            }
        });
        return new WriteAheadLog(Settings.Directory, next, Settings.Fsync);
    }

    private void CountRecoveredKeys()
    {
        using var iterator = IterateLive();
        while (iterator.GetNext(out _))
        {
            var value = iterator.GetValue().AsReadOnlySpan();
            Clock.Observe(StoredValue.Version(value).Timestamp);
            if (!StoredValue.IsTombstone(value))
            {
                _keys++;
                _expiring += StoredValue.ExpiresAt(value) != 0 ? 1 : 0;
            }
        }
    }
}

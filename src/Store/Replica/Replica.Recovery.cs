using DataPlane.Store.Durability;
using FASTER.core;

namespace DataPlane.Store.Replica;

internal sealed partial class Replica
{
    /// <summary>Recovery = the newest whole checkpoint, then every write-ahead log record after it, merged.</summary>
    private WriteAheadLog Recover()
    {
        var firstSegment = 0L;
        if (RecoverCheckpoint())
        {
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

    /// <summary>
    /// Recovers the newest whole checkpoint; false when there is none. A process killed during its first
    /// checkpoint leaves the checkpoint's files with no whole checkpoint among them: FASTER then finds no valid
    /// token. The write-ahead log alone holds every write then, since a checkpoint deletes the segments it
    /// covers only once it is whole, so the log's first segment is still 0. With older segments gone, a whole
    /// checkpoint existed and is lost: that stays an error.
    /// </summary>
    private bool RecoverCheckpoint()
    {
        if (!System.IO.Directory.Exists(CheckpointDirectory) || !System.IO.Directory.EnumerateFileSystemEntries(CheckpointDirectory).Any())
        {
            return false;
        }

        try
        {
            Store.Recover();
            return true;
        }
        catch (FasterException) when (WalSegments.List(Settings.Directory) is [] or [0, ..])
        {
            return false;
        }
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

namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    private readonly Thread _syncer;
    private readonly WakeSignal _syncWork = new();
    private readonly Lock _syncLock = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WaiterChain _awaitingSync;
    private bool _syncerBusy;
    private bool _syncStop;
    private long _unsyncedRecords;
    private long _lastSyncMs;
    private ITimer? _flushTimer;
    private int _flushTimerArmed;

    /// <summary>
    /// Records written but not yet synced under a policy that acknowledges before the fsync; read by tests of
    /// the flush policy. Under a durable policy the appends waiting for their fsync are the count, and this stays 0.
    /// </summary>
    internal long UnsyncedRecords => Interlocked.Read(ref _unsyncedRecords);

    /// <summary>
    /// After a group is written: under a durable policy its appenders wait for the fsync that covers it (the
    /// writer's own or the syncer's, see <see cref="SyncHere"/>); otherwise they are acknowledged now, and the
    /// syncer is woken only when the policy says a sync is due.
    /// </summary>
    private void AfterWrite(ref WaiterChain waiters, int records)
    {
        var policy = _config.FlushPolicy;
        if (policy.IsDurable)
        {
            if (SyncHere(ref waiters))
            {
                CompleteLater(ref waiters, Sync());
            }
            else
            {
                _syncWork.Release();
            }

            return;
        }

        var unsynced = Interlocked.Add(ref _unsyncedRecords, records);
        // Arm the interval's timer before acknowledging, so the flush is scheduled by the time an appender sees its result.
        if (unsynced >= policy.Messages || SyncIntervalElapsed())
        {
            _syncWork.Release();
        }
        else
        {
            ArmFlushTimer(policy.Interval);
        }

        CompleteLater(ref waiters, LogError.None);
    }

    /// <summary>
    /// Whether the writer should fsync the group it has just written itself rather than hand it to the syncer.
    /// A hand-off costs a thread wake-up per group commit (milliseconds on a loaded 2-core machine, where the
    /// log bench saw the syncer start 0.5-6 ms after the write it was handed) and buys something only when
    /// the writer has another group to write meanwhile, or the syncer is already at work (an fsync there must
    /// finish first, and its next one covers this group too). Otherwise the writer syncs: nothing waits for it.
    /// </summary>
    private bool SyncHere(ref WaiterChain waiters)
    {
        bool moreToWrite;
        lock (_appendLock)
        {
            moreToWrite = _filling.BatchCount > 0 || !_waitingForRoom.IsEmpty;
        }

        lock (_syncLock)
        {
            if (!moreToWrite && !_syncerBusy)
            {
                return true;
            }

            _awaitingSync.Append(ref waiters);
            _syncerBusy = true;
            return false;
        }
    }

    private void RequestSync()
    {
        if (Interlocked.Read(ref _unsyncedRecords) > 0 && SyncIntervalElapsed())
        {
            _syncWork.Release();
        }
    }

    private bool SyncIntervalElapsed()
    {
        var interval = _config.FlushPolicy.Interval;
        return interval != Timeout.InfiniteTimeSpan
            && _time.GetUtcNow().ToUnixTimeMilliseconds() - Volatile.Read(ref _lastSyncMs) >= interval.TotalMilliseconds;
    }

    /// <summary>
    /// The syncer: each fsync covers every group written before it started, and completes the appenders of
    /// those groups. While it runs, the writer writes the next group.
    /// </summary>
    private void SyncLoop()
    {
        try
        {
            while (true)
            {
                _syncWork.Wait();
                bool stop;
                WaiterChain syncing;
                lock (_syncLock)
                {
                    syncing = _awaitingSync;
                    _awaitingSync = default;
                    stop = _syncStop;
                }

                var unsynced = Interlocked.Read(ref _unsyncedRecords);
                var outcome = LogError.None;
                if (unsynced > 0 || !syncing.IsEmpty)
                {
                    outcome = Sync();
                    if (outcome == LogError.None)
                    {
                        Interlocked.Add(ref _unsyncedRecords, -unsynced);
                        Volatile.Write(ref _lastSyncMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
                    }
                }

                CompleteLater(ref syncing, outcome);
                lock (_syncLock)
                {
                    // Idle once every handed-over group is synced: the writer may sync its next group itself.
                    _syncerBusy = !_awaitingSync.IsEmpty;
                }

                if (stop)
                {
                    return;
                }
            }
        }
        finally
        {
            _stopped.SetResult();
        }
    }

    private LogError Sync()
    {
        try
        {
            _options.FlushToDisk(Volatile.Read(ref _segments)[^1].Log);
            return LogError.None;
        }
        catch (IOException)
        {
            return LogError.StorageError;
        }
    }

    private void StopSyncer()
    {
        lock (_syncLock)
        {
            _syncStop = true;
        }

        _syncWork.Release();
    }

    private void ArmFlushTimer(TimeSpan interval)
    {
        if (interval == Timeout.InfiniteTimeSpan || Interlocked.Exchange(ref _flushTimerArmed, 1) == 1)
        {
            return;
        }

        _flushTimer ??= _time.CreateTimer(
            static state =>
            {
                var log = (PartitionLog)state!;
                Volatile.Write(ref log._flushTimerArmed, 0);
                lock (log._appendLock)
                {
                    if (!log._disposed)
                    {
                        log._work.Release();
                    }
                }
            },
            this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _flushTimer.Change(interval, Timeout.InfiniteTimeSpan);
    }
}

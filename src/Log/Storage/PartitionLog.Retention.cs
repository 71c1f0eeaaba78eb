namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    private readonly List<(Segment Segment, ITimer Timer)> _closing = [];

    /// <summary>
    /// Deletes closed segments past <c>retention.ms</c> (newest record older than the limit) and, oldest first,
    /// past <c>retention.bytes</c>; the active segment is never deleted. Deleted segments' files are unlinked at
    /// once and closed after <see cref="CommitLogOptions.FileDeleteDelay"/>, so slices already handed out stay
    /// readable. Returns how many segments were deleted.
    /// </summary>
    public int EnforceRetention() => DeleteOldest(CountPastRetention);

    /// <summary>
    /// Unlinks the oldest closed segments, as many as <paramref name="count"/> says of the current list (never the
    /// active one), and closes them after the delete delay. Returns how many were deleted.
    /// </summary>
    private int DeleteOldest(Func<Segment[], int> count)
    {
        Segment[] deleted;
        lock (_segmentsLock)
        {
            var segments = _segments;
            var drop = Math.Min(count(segments), segments.Length - 1);
            if (drop <= 0)
            {
                return 0;
            }

            deleted = segments[..drop];
            Volatile.Write(ref _segments, segments[drop..]);
        }

        foreach (var segment in deleted)
        {
            segment.DeleteFiles();
            ScheduleClose(segment);
        }

        return deleted.Length;
    }

    private int CountPastRetention(Segment[] segments)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var drop = 0;
        if (_config.RetentionTime is { } retention)
        {
            while (drop < segments.Length - 1 && now - segments[drop].MaxTimestamp > retention.TotalMilliseconds)
            {
                drop++;
            }
        }

        if (_config.RetentionBytes is { } limit)
        {
            var total = 0L;
            foreach (var s in segments)
            {
                total += s.Size;
            }

            for (var i = 0; i < drop; i++)
            {
                total -= segments[i].Size;
            }

            while (drop < segments.Length - 1 && total - segments[drop].Size >= limit)
            {
                total -= segments[drop].Size;
                drop++;
            }
        }

        return drop;
    }

    private void ScheduleClose(Segment segment)
    {
        if (_options.FileDeleteDelay <= TimeSpan.Zero)
        {
            segment.Dispose();
            return;
        }

        // The timer is kept in a list: an unreferenced timer may be collected before it fires.
        lock (_closing)
        {
            _closing.Add((segment, _time.CreateTimer(CloseDeleted, segment, _options.FileDeleteDelay, Timeout.InfiniteTimeSpan)));
        }
    }

    private void CloseDeleted(object? state)
    {
        lock (_closing)
        {
            var i = _closing.FindIndex(c => ReferenceEquals(c.Segment, state));
            if (i >= 0)
            {
                _closing[i].Segment.Dispose();
                _closing[i].Timer.Dispose();
                _closing.RemoveAt(i);
            }
        }
    }

    private void CloseAllDeleted()
    {
        lock (_closing)
        {
            foreach (var (segment, timer) in _closing)
            {
                timer.Dispose();
                segment.Dispose();
            }

            _closing.Clear();
        }
    }
}

using DataPlane.Log.Records;
using DataPlane.Net.IO;

namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    /// <summary>
    /// The most bytes per gather write (a batch larger than this goes alone). One pwritev of a whole 4 MiB group
    /// of 16 KiB batches cost 1.3-1.8 ms of CPU per MB on the 2-core bench machine, the same batches in 64 KiB
    /// writes 0.4-0.8 (the kernel's copy into the page cache, most of the log's CPU, is cheaper in small
    /// pieces); the extra syscalls, 64 per 4 MiB, cost far less.
    /// </summary>
    private const int WriteChunkBytes = 64 * 1024;

    /// <summary>
    /// The writer starts the disk on what it has written every this many bytes (see <see cref="Writeback"/>),
    /// RocksDB's usual <c>bytes_per_sync</c>. On the bench machine, one thread writing and fsyncing every 32 MiB
    /// made 674 MB/s durable
    /// (median of 3 rounds), 756-793 with writeback started every 1-8 MiB.
    /// </summary>
    private const int WritebackBytes = 1 << 20;

    private readonly Lock _appendLock = new();
    private readonly WakeSignal _work = new();
    private readonly Thread _writer;
    private readonly Stack<AppendWaiter> _waiterPool = new();
    private readonly Stack<WaiterCompleter> _completerPool = new();
    private AppendGroup _filling;
    private AppendGroup _writing;
    private WaiterChain _waitingForRoom;
    private long _nextOffset;
    private bool _disposed;

    /// <summary>
    /// Validates <paramref name="batches"/>, stamps their offsets and returns a wait for the group holding them
    /// to be written (and, under a durable policy, synced). Nothing is appended unless every batch is whole.
    /// An append that finds the filling group full queues for room; the writer moves it into the next group.
    /// </summary>
    public ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<byte> batches)
    {
        var error = BatchValidator.Validate(batches.Span, _config.MaxMessageBytes, out var batchCount, out var records);
        if (error != BatchError.None)
        {
            return ValueTask.FromResult(AppendResult.Failed(ToLogError(error), error));
        }

        lock (_appendLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var group = _filling;
            if (batches.Length > group.CapacityBytes || batchCount > AppendGroup.MaxBatches)
            {
                return ValueTask.FromResult(AppendResult.Failed(LogError.RecordListTooLarge));
            }

            var waiter = RentWaiter();
            waiter.Records = records;
            waiter.BatchCount = batchCount;
            if (_waitingForRoom.IsEmpty && group.HasRoom(batches.Length, batchCount))
            {
                Enter(group, waiter, batches);
            }
            else
            {
                waiter.Pending = batches;
                _waitingForRoom.Add(waiter);
            }

            return waiter.Task;
        }
    }

    internal void ReturnWaiter(AppendWaiter waiter)
    {
        lock (_appendLock)
        {
            _waiterPool.Push(waiter);
        }
    }

    internal void ReturnCompleter(WaiterCompleter completer)
    {
        lock (_appendLock)
        {
            _completerPool.Push(completer);
        }
    }

    /// <summary>Completes waiters off the writer and syncer threads (see <see cref="WaiterCompleter"/>).</summary>
    private void CompleteLater(ref WaiterChain waiters, LogError outcome)
    {
        if (waiters.IsEmpty)
        {
            return;
        }

        WaiterCompleter? completer;
        lock (_appendLock)
        {
            _completerPool.TryPop(out completer);
        }

        (completer ?? new WaiterCompleter(this)).Start(ref waiters, outcome);
    }

    private AppendWaiter RentWaiter() => _waiterPool.TryPop(out var waiter) ? waiter : new AppendWaiter(this);

    /// <summary>Copies an append into the filling group, stamping offsets; wakes the writer for a group's first append.</summary>
    private void Enter(AppendGroup group, AppendWaiter waiter, ReadOnlyMemory<byte> batches)
    {
        var wasEmpty = group.BatchCount == 0;
        waiter.BaseOffset = _nextOffset;
        while (!batches.IsEmpty)
        {
            var size = RecordBatch.TotalSize(batches.Span);
            group.Add(batches[..size], _nextOffset);
            _nextOffset += RecordBatch.LastOffsetDelta(batches.Span) + 1;
            batches = batches[size..];
        }

        waiter.LastOffset = _nextOffset - 1;
        group.Records += waiter.Records;
        group.AddWaiter(waiter);
        if (wasEmpty)
        {
            _work.Release();
        }
    }

    /// <summary>Moves appends that waited for room into the (new, empty) filling group, in arrival order.</summary>
    private void AdmitWaitingForRoom()
    {
        var group = _filling;
        while (_waitingForRoom.Head is { } waiter && group.HasRoom(waiter.Pending.Length, waiter.BatchCount))
        {
            _waitingForRoom.TakeFirst();
            var pending = waiter.Pending;
            waiter.Pending = default;
            Enter(group, waiter, pending);
        }
    }

    private static LogError ToLogError(BatchError error) => error switch
    {
        BatchError.TooLarge => LogError.MessageTooLarge,
        BatchError.UnknownCompression => LogError.UnsupportedCompressionType,
        BatchError.RecordCountMismatch or BatchError.MalformedRecord => LogError.InvalidRecord,
        _ => LogError.CorruptMessage,
    };

    /// <summary>
    /// The partition's writer, on its own thread: it blocks in write, which on a thread-pool thread would
    /// starve the appenders' continuations on a small machine. A written group goes to the syncer when another
    /// group is waiting to be written, so the two overlap as in a database's group commit; when nothing is
    /// waiting, the writer syncs it itself (see <see cref="SyncHere"/>).
    /// </summary>
    private void WriteLoop()
    {
        try
        {
            WriteUntilStopped();
        }
        finally
        {
            StopSyncer();
        }
    }

    private void WriteUntilStopped()
    {
        while (true)
        {
            _work.Wait();
            AppendGroup group;
            bool stopping;
            lock (_appendLock)
            {
                stopping = _disposed;
                group = _filling;
                if (group.BatchCount > 0)
                {
                    _filling = _writing;
                    _writing = group;
                    AdmitWaitingForRoom();
                }
            }

            if (group.BatchCount > 0)
            {
                var outcome = WriteGroup(group);
                var records = group.Records;
                var waiters = group.Reset(); // the bytes are in the file: the buffer can take the next group now
                if (outcome != LogError.None)
                {
                    FailPending();
                    CompleteLater(ref waiters, outcome);
                }
                else
                {
                    AfterWrite(ref waiters, records);
                }
            }
            else
            {
                RequestSync(); // the flush interval's timer woke us
            }

            lock (_appendLock)
            {
                if (stopping && _filling.BatchCount == 0 && _waitingForRoom.IsEmpty)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Writes a group, rolling segments between batches where size or age says so.</summary>
    private LogError WriteGroup(AppendGroup group)
    {
        var runStart = 0;
        long runBytes = 0;
        try
        {
            for (var i = 0; i < group.BatchCount; i++)
            {
                ref readonly var batch = ref group.Batch(i);
                var active = Volatile.Read(ref _segments)[^1];
                if (ShouldRoll(active, runBytes, batch.Size))
                {
                    WriteRun(active, group, runStart, i, runBytes);
                    Roll(batch.BaseOffset);
                    runStart = i;
                    runBytes = 0;
                }

                runBytes += batch.Size;
            }

            WriteRun(Volatile.Read(ref _segments)[^1], group, runStart, group.BatchCount, runBytes);
            return LogError.None;
        }
        catch (IOException)
        {
            return LogError.StorageError;
        }
        catch (UnauthorizedAccessException)
        {
            return LogError.StorageError;
        }
    }

    private bool ShouldRoll(Segment active, long pendingBytes, int nextBatch)
    {
        var size = active.Size + pendingBytes;
        if (size == 0)
        {
            return false;
        }

        var ageMs = _time.GetUtcNow().ToUnixTimeMilliseconds() - active.CreatedMs;
        return size + nextBatch > _config.SegmentBytes || ageMs >= _config.SegmentTime.TotalMilliseconds
            || size + nextBatch > int.MaxValue || active.IndexesFull;
    }

    /// <summary>
    /// Writes batches [from, to) in gather writes of up to <see cref="WriteChunkBytes"/>; on failure the file is
    /// cut back to where the run began, so no batch of it survives, whole or partial.
    /// </summary>
    private void WriteRun(Segment segment, AppendGroup group, int from, int to, long bytes)
    {
        if (from == to)
        {
            return;
        }

        var start = segment.Size;
        try
        {
            var at = start;
            var first = from;
            while (first < to)
            {
                var end = first;
                var chunk = 0L;
                do
                {
                    chunk += group.Batch(end++).Size;
                }
                while (end < to && chunk + group.Batch(end).Size <= WriteChunkBytes);

                _options.WriteAt(segment.Log, group.SelectRun(first, end - first), at);
                at += chunk;
                first = end;
                if (at - segment.WritebackFrom >= WritebackBytes)
                {
                    _options.StartWriteback(segment.Log, segment.WritebackFrom, at - segment.WritebackFrom);
                    segment.WritebackFrom = at;
                }
            }
        }
        catch
        {
            segment.Truncate(start);
            throw;
        }

        var position = start;
        for (var i = from; i < to; i++)
        {
            ref readonly var batch = ref group.Batch(i);
            segment.OnBatchWritten(batch.BaseOffset, batch.LastOffset, batch.MaxTimestamp, position, batch.Size);
            position += batch.Size;
        }

        segment.Publish(start + bytes);
        Volatile.Write(ref _highWatermark, group.Batch(to - 1).LastOffset + 1);
    }

    private void Roll(long baseOffset)
    {
        var old = Volatile.Read(ref _segments)[^1];
        old.SealTimeIndex();
        old.SyncAll();
        var next = Segment.Open(_directory, baseOffset, _config.IndexIntervalBytes, _time.GetUtcNow().ToUnixTimeMilliseconds(),
            _config.SegmentBytes, _options.Preallocate);
        try
        {
            DurableFile.SyncDirectory(_directory); // the fsyncs that acknowledge appends to it cover its bytes, not its name
        }
        catch (IOException)
        {
            next.Dispose(); // the roll is retried with the next group, which opens the file again
            throw;
        }
        lock (_segmentsLock)
        {
            Volatile.Write(ref _segments, [.. _segments, next]);
        }

        old.TrimIndexes(); // only now: had the roll failed, the old segment would have taken the next group's entries
    }

    /// <summary>
    /// After a failed write or sync: the appends already copied into the filling group carry offsets that
    /// follow the failed ones, so they fail too, and offsets restart from what is on disk.
    /// </summary>
    private void FailPending()
    {
        WaiterChain failed;
        lock (_appendLock)
        {
            _nextOffset = Volatile.Read(ref _highWatermark);
            failed = _filling.Reset();
            AdmitWaitingForRoom();
        }

        CompleteLater(ref failed, LogError.StorageError);
    }
}

using System.Runtime.CompilerServices;
using DataPlane.Log.Records;

namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    private readonly Lock _appendLock = new();
    private readonly SemaphoreSlim _work = new(0);
    private readonly Thread _writer;
    private AppendGroup _filling;
    private AppendGroup _writing;
    private long _nextOffset;
    private bool _disposed;

    /// <summary>
    /// Validates <paramref name="batches"/>, stamps their offsets and waits until the group holding them is
    /// written (and, under a durable policy, synced). Nothing is appended unless every batch is whole.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<byte> batches)
    {
        var error = BatchValidator.Validate(batches.Span, _config.MaxMessageBytes, out _, out var records);
        if (error != BatchError.None)
        {
            return AppendResult.Failed(ToLogError(error), error);
        }

        while (true)
        {
            Task<LogError> wait;
            long baseOffset;
            lock (_appendLock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var group = _filling;
                if (batches.Length > group.Buffer.Length)
                {
                    return AppendResult.Failed(LogError.RecordListTooLarge);
                }

                if (group.Length + batches.Length > group.Buffer.Length)
                {
                    wait = group.Completion.Task;
                    baseOffset = -1;
                }
                else
                {
                    baseOffset = _nextOffset;
                    CopyAndStamp(group, batches.Span);
                    group.Records += records;
                    wait = group.Completion.Task;
                    if (group.Length == batches.Length)
                    {
                        _work.Release();
                    }
                }
            }

            var outcome = await wait.ConfigureAwait(false);
            if (baseOffset < 0)
            {
                continue; // the group was full: it is written now, so the next one has room
            }

            return outcome == LogError.None
                ? new AppendResult(LogError.None, BatchError.None, baseOffset, baseOffset + records - 1, LogStartOffset)
                : AppendResult.Failed(outcome);
        }
    }

    private static LogError ToLogError(BatchError error) => error switch
    {
        BatchError.TooLarge => LogError.MessageTooLarge,
        BatchError.UnknownCompression => LogError.UnsupportedCompressionType,
        BatchError.RecordCountMismatch or BatchError.MalformedRecord => LogError.InvalidRecord,
        _ => LogError.CorruptMessage,
    };

    private void CopyAndStamp(AppendGroup group, ReadOnlySpan<byte> batches)
    {
        var destination = group.Buffer.AsSpan(group.Length, batches.Length);
        batches.CopyTo(destination);
        group.Length += batches.Length;
        while (!destination.IsEmpty)
        {
            var size = RecordBatch.TotalSize(destination);
            var batch = destination[..size];
            RecordBatch.Stamp(batch, _nextOffset, 0);
            _nextOffset += RecordBatch.LastOffsetDelta(batch) + 1;
            destination = destination[size..];
        }
    }

    /// <summary>
    /// The partition's writer, on its own thread: it blocks in write, which on a thread-pool thread would
    /// starve the appenders' continuations on a small machine. Written groups go to the syncer, so the next
    /// group is written while the previous one is being synced (the two overlap as in a database's group commit).
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
                if (group.Length > 0)
                {
                    _filling = _writing;
                    _writing = group;
                }
            }

            if (group.Length > 0)
            {
                var outcome = WriteGroup(group);
                var completion = group.Completion;
                var records = group.Records;
                group.Reset(); // the bytes are in the file: the buffer can take the next group now
                if (outcome != LogError.None)
                {
                    FailPending();
                    completion.SetResult(outcome);
                }
                else
                {
                    AfterWrite(completion, records);
                }
            }
            else
            {
                RequestSync(); // the flush interval's timer woke us
            }

            if (stopping && _filling.Length == 0)
            {
                return;
            }
        }
    }

    /// <summary>Writes a group, rolling segments between batches where size or age says so.</summary>
    private LogError WriteGroup(AppendGroup group)
    {
        var buffer = group.Buffer.AsMemory(0, group.Length);
        var runStart = 0;
        var position = 0;
        try
        {
            while (position < buffer.Length)
            {
                var size = RecordBatch.TotalSize(buffer.Span[position..]);
                var active = Volatile.Read(ref _segments)[^1];
                if (ShouldRoll(active, position - runStart, size))
                {
                    WriteRun(active, buffer[runStart..position]);
                    Roll(RecordBatch.BaseOffset(buffer.Span[position..]));
                    runStart = position;
                }

                position += size;
            }

            WriteRun(Volatile.Read(ref _segments)[^1], buffer[runStart..]);
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

    private bool ShouldRoll(Segment active, int pendingBytes, int nextBatch)
    {
        var size = active.Size + pendingBytes;
        if (size == 0)
        {
            return false;
        }

        var ageMs = _time.GetUtcNow().ToUnixTimeMilliseconds() - active.CreatedMs;
        return size + nextBatch > _config.SegmentBytes || ageMs >= _config.SegmentTime.TotalMilliseconds
            || size + nextBatch > int.MaxValue;
    }

    /// <summary>One write for a run of batches; on failure the file is cut back so no partial batch survives.</summary>
    private void WriteRun(Segment segment, ReadOnlyMemory<byte> run)
    {
        if (run.IsEmpty)
        {
            return;
        }

        var start = segment.Size;
        try
        {
            _options.WriteAt(segment.Log, run, start);
        }
        catch
        {
            segment.Truncate(start);
            throw;
        }

        var span = run.Span;
        var position = 0;
        long next = 0;
        while (position < span.Length)
        {
            var batch = span[position..];
            var size = RecordBatch.TotalSize(batch);
            next = RecordBatch.LastOffset(batch) + 1;
            segment.OnBatchWritten(RecordBatch.BaseOffset(batch), next - 1, RecordBatch.MaxTimestamp(batch), start + position, size);
            position += size;
        }

        segment.Publish(start + run.Length);
        segment.PersistIndexes();
        Volatile.Write(ref _highWatermark, next);
    }

    private void Roll(long baseOffset)
    {
        var old = Volatile.Read(ref _segments)[^1];
        old.SealTimeIndex();
        old.SyncAll();
        var next = Segment.Open(_directory, baseOffset, _config.IndexIntervalBytes, _time.GetUtcNow().ToUnixTimeMilliseconds());
        lock (_segmentsLock)
        {
            Volatile.Write(ref _segments, [.. _segments, next]);
        }
    }

    /// <summary>
    /// After a failed write or sync: the appends already copied into the filling group carry offsets that
    /// follow the failed ones, so they fail too, and offsets restart from what is on disk.
    /// </summary>
    private void FailPending()
    {
        lock (_appendLock)
        {
            var filling = _filling;
            _nextOffset = Volatile.Read(ref _highWatermark);
            if (filling.Length > 0)
            {
                var completion = filling.Completion;
                filling.Reset();
                completion.SetResult(LogError.StorageError);
            }
        }
    }
}

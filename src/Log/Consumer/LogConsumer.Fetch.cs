using DataPlane.Log.Groups;
using DataPlane.Log.Records;

namespace DataPlane.Log.Consumer;

public sealed partial class LogConsumer
{
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The next record of the consumer's partitions (taken in turn), waiting while there is none. Partitions kept
    /// through a cooperative rebalance go on flowing while it runs.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="GroupException">The consumer was fenced by another instance with its <c>group.instance.id</c>.</exception>
    /// <exception cref="ObjectDisposedException">The consumer was closed.</exception>
    public async ValueTask<ConsumeResult> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
            if (_fatal != GroupError.None)
            {
                throw new GroupException(_fatal);
            }

            var wake = Volatile.Read(ref _wake).Task;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (TryNext() is { } record)
                {
                    return record;
                }
            }
            finally
            {
                _gate.Release();
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(Task.Delay(_options.FetchWait, _time, idle.Token), wake).ConfigureAwait(false);
            await idle.CancelAsync().ConfigureAwait(false);
        }
    }

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private ConsumeResult? TryNext()
    {
        var assigned = Volatile.Read(ref _assigned);
        for (var i = 0; i < assigned.Length; i++)
        {
            var tp = assigned[(_cursor + i) % assigned.Length];
            lock (_stateLock)
            {
                if (!_buffers.TryGetValue(tp, out var buffer))
                {
                    continue;
                }

                if (buffer.Count == 0)
                {
                    Fill(tp, buffer);
                }

                if (buffer.TryDequeue(out var record))
                {
                    _positions[tp] = record.Offset + 1;
                    _cursor = (_cursor + i + 1) % assigned.Length;
                    return record;
                }
            }
        }

        return null;
    }

    private void Fill(TopicPartition tp, Queue<ConsumeResult> buffer)
    {
        var position = _positions[tp];
        var read = _log.Read(tp.Topic, tp.Partition, position, _options.MaxFetchBytes);
        if (read.Error == LogError.OffsetOutOfRange)
        {
            position = ResetOffset(tp);
            _positions[tp] = position;
            read = _log.Read(tp.Topic, tp.Partition, position, _options.MaxFetchBytes);
        }

        if (read.Error != LogError.None || read.Records.Length == 0)
        {
            return;
        }

        foreach (var r in RecordBatchReader.ReadAll(read.Records.ToArray()))
        {
            if (r.Offset >= position)
            {
                buffer.Enqueue(new ConsumeResult(tp, r.Offset, r.Timestamp, r.Key, r.Value, r.Headers));
            }
        }
    }

    private long ResetOffset(TopicPartition tp)
    {
        var offsets = _log.GetOffsets(tp.Topic, tp.Partition);
        return _options.AutoOffsetReset == AutoOffsetReset.Earliest ? offsets.LogStartOffset : offsets.HighWatermark;
    }
}

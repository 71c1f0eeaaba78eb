using System.Buffers;
using System.Diagnostics;

namespace DataPlane.Store.Durability;

internal sealed partial class WriteAheadLog
{
    private static readonly TimeSpan EverySecond = TimeSpan.FromSeconds(1);

    private void WriteLoop()
    {
        var spare = ArrayPool<byte>.Shared.Rent(InitialBatchBytes);
        var sinceFsync = Stopwatch.StartNew();
        var dirty = false;
        while (true)
        {
            byte[] batch;
            int length;
            long taken;
            TaskCompletionSource round;
            TaskCompletionSource<long>? rotation;
            bool stopping;
            lock (_gate)
            {
                while (_batchLength == 0 && _rotation is null && !_stopping)
                {
                    if (!Monitor.Wait(_gate, EverySecond))
                    {
                        break;
                    }
                }

                batch = _batch;
                length = _batchLength;
                _batch = spare;
                _batchLength = 0;
                taken = _taken = _appended;
                round = _inflightRound = _nextRound;
                _nextRound = NewRound();
                rotation = _rotation;
                _rotation = null;
                stopping = _stopping;
            }

            try
            {
                if (length > 0)
                {
                    WriteBatch(batch.AsSpan(0, length));
                    dirty = true;
                }

                var fsync = _mode == FsyncMode.Always
                    || rotation is not null
                    || stopping
                    || (_mode == FsyncMode.EverySecond && sinceFsync.Elapsed >= EverySecond);
                if (fsync && dirty)
                {
                    _file.Flush(flushToDisk: true);
                    dirty = false;
                    sinceFsync.Restart();
                }

                Volatile.Write(ref _durable, taken);
                round.TrySetResult();
                if (rotation is not null)
                {
                    _file.Dispose();
                    var next = _segment + 1;
                    _file = Open(_directory, next);
                    Volatile.Write(ref _segment, next);
                    rotation.TrySetResult(next);
                }
            }
            catch (IOException e)
            {
                Volatile.Write(ref _fault, e);
                round.TrySetException(e);
                rotation?.TrySetException(e);
            }

            if (batch.Length > InitialBatchBytes * 16)
            {
                ArrayPool<byte>.Shared.Return(batch);
                batch = ArrayPool<byte>.Shared.Rent(InitialBatchBytes);
            }

            spare = batch;
            if (stopping)
            {
                ArrayPool<byte>.Shared.Return(spare);
                return;
            }
        }
    }

    /// <summary>Appends a batch; if the disk refuses part of it, cuts the file back to where it was, so the log holds only whole records.</summary>
    private void WriteBatch(ReadOnlySpan<byte> bytes)
    {
        var before = _file.Position;
        try
        {
            _file.Write(bytes);
        }
        catch (IOException)
        {
            _file.SetLength(before);
            _file.Position = before;
            throw;
        }
    }
}

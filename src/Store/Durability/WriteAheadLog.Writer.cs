using System.Buffers;
using System.Diagnostics;
using DataPlane.Net.IO;

namespace DataPlane.Store.Durability;

internal sealed partial class WriteAheadLog
{
    private static readonly TimeSpan EverySecond = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The writer thread: with <see cref="FsyncMode.Always"/> it takes each batch as soon as there is
    /// one, writes it and fsyncs it outside the lock (appends carry on meanwhile and form the next
    /// batch); otherwise it wakes once a second to write what is pending and, for
    /// <see cref="FsyncMode.EverySecond"/>, fsync. It also performs rotations and the final flush.
    /// </summary>
    private void WriteLoop()
    {
        var sinceFsync = Stopwatch.StartNew();
        while (true)
        {
            long taken;
            TaskCompletionSource round;
            TaskCompletionSource<long>? rotation;
            bool stopping;
            bool dirty;
            FileStream file;
            lock (_gate)
            {
                while (!(_mode == FsyncMode.Always && _batchLength > 0) && _rotation is null && !_stopping)
                {
                    if (!Monitor.Wait(_gate, EverySecond))
                    {
                        break;
                    }
                }

                var written = WriteOutLocked();
                taken = _taken = _appended;
                round = _inflightRound = _nextRound;
                _nextRound = NewRound();
                rotation = _rotation;
                _rotation = null;
                stopping = _stopping;
                file = _file;
                var fsyncDue = _mode == FsyncMode.Always || rotation is not null || stopping
                    || (_mode == FsyncMode.EverySecond && sinceFsync.Elapsed >= EverySecond);
                dirty = _dirty && fsyncDue && written;
                if (dirty)
                {
                    _dirty = false;
                }
            }

            try
            {
                if (Volatile.Read(ref _fault) is { } fault)
                {
                    throw new IOException("the write-ahead log failed: " + fault.Message, fault);
                }

                if (dirty)
                {
                    file.Flush(flushToDisk: true);
                    sinceFsync.Restart();
                }

                Volatile.Write(ref _durable, taken);
                round.TrySetResult();
                if (rotation is not null)
                {
                    Rotate(rotation);
                }
            }
            catch (IOException e)
            {
                Interlocked.CompareExchange(ref _fault, e, null);
                round.TrySetException(e);
                rotation?.TrySetException(e);
            }

            if (stopping)
            {
                return;
            }
        }
    }

    private void Rotate(TaskCompletionSource<long> rotation)
    {
        FileStream old;
        long next;
        lock (_gate)
        {
            WriteOutLocked();
            next = _segment + 1;
            old = _file;
            _file = Open(_directory, next);
            Volatile.Write(ref _segment, next);
            _dirty = false;
        }

        old.Flush(flushToDisk: true);
        old.Dispose();

        // The checkpoint that follows lets older segments go: the new one must outlive a crash.
        DurableFile.SyncDirectory(_directory);
        rotation.TrySetResult(next);
    }

    /// <summary>
    /// Writes the pending batch (under the lock); false if the log has failed. If the disk refuses
    /// part of it, the file is cut back to where it was, so the log holds only whole records.
    /// </summary>
    private bool WriteOutLocked()
    {
        if (_batchLength == 0)
        {
            return _fault is null;
        }

        var before = _file.Position;
        try
        {
            _file.Write(_batch, 0, _batchLength);
            _dirty = true;
            Volatile.Write(ref _written, _appended);
            return true;
        }
        catch (IOException e)
        {
            Volatile.Write(ref _fault, e);
            try
            {
                _file.SetLength(before);
                _file.Position = before;
            }
            catch (IOException)
            {
                // The cut failed too: recovery stops at the first torn record anyway.
            }

            return false;
        }
        finally
        {
            _batchLength = 0;
            if (_batch.Length > InitialBatchBytes * 16)
            {
                ArrayPool<byte>.Shared.Return(_batch);
                _batch = ArrayPool<byte>.Shared.Rent(InitialBatchBytes);
            }
        }
    }
}

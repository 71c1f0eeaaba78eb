using DataPlane.Net.IO;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Store.Hints;

/// <summary>
/// Group commit of hints under fsync always, as the write-ahead log has it: a caller copies its hint
/// into its node's batch under a short lock and gets the task of the batch's round; one writer thread
/// writes every pending batch to its file (under the lock: a write to the page cache, as the log's
/// writer does) and syncs the files outside it, while new hints form the next round. One sync then
/// covers every hint added before it started, instead of one each under the lock, on the client's
/// event loop: with one node of three down, 20,000 SETs under fsync always (-P 16 -c 50) ran at 5-9%
/// of the rate with all up; with the group commit, at about the same rate.
/// </summary>
internal sealed partial class HintStore
{
    private bool _batched;

    /// <summary>The writer thread failed on a bug (not a disk's refusal): every hint is refused from then on, none waits for a writer that is gone.</summary>
    private bool _broken;

    /// <summary>Copies a hint into its node's batch and wakes the writer if it sleeps; the task of the round that will commit it.</summary>
    private Task<bool> Enqueue(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        ThrowIfNotANode(node);
        lock (_gate)
        {
            if (TryAppend(node, key, stored) is not { } target)
            {
                return NotKept;
            }

            var round = target.JoinRound();
            if (!_batched)
            {
                _batched = true;
                Monitor.Pulse(_gate);
            }

            return round;
        }
    }

    /// <summary>The writer thread (fsync always): a round per wake-up, until the store is disposed, whose last round commits what is left.</summary>
    private void WriteLoop()
    {
        var written = new List<Written>();
        try
        {
            WriteRounds(written);
        }
        catch (Exception e)
        {
            // A bug, not a disk's refusal (those are caught where they happen): the callers of this round and of
            // every batch not yet taken hear their hints were not kept, and later ones are refused at once.
            LogWriterFailed(_logger, e);
            lock (_gate)
            {
                _broken = true;
                foreach (var target in _targets.Values)
                {
                    var (_, count, round) = target.TakeBatch();
                    target.Pending -= count;
                    _refused += count;
                    round?.TrySetResult(false);
                }
            }

            foreach (var batch in written)
            {
                // The files these batches were written to stay held by them until released: the bug may have struck before their syncs.
                batch.Handle?.DangerousRelease();
                batch.Round?.TrySetResult(false);
            }
        }
    }

    private void WriteRounds(List<Written> written)
    {
        while (true)
        {
            bool stopping;
            var directory = false;
            lock (_gate)
            {
                while (!_batched && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                _batched = false;
                stopping = _stopping;
                if (_closed)
                {
                    return; // Closed while this writer was stuck in a sync: its batches were refused.
                }

                foreach (var target in _targets.Values)
                {
                    if (target.Batched > 0)
                    {
                        written.Add(WriteBatch(target, ref directory));
                    }
                }
            }

            Commit(written, directory);
            written.Clear();
            if (stopping)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Under the lock: writes a node's batch to its file, opening a new one if needed (<paramref name="directory"/>
    /// then set: its name must be synced). What the file system refuses refuses this batch alone: a disk's
    /// refusal (IOException, UnauthorizedAccessException), or a hint file that is not a regular file (a pipe's
    /// position: NotSupportedException). Its hints stay pending while the file may hold part of it (the cut-back
    /// failed). Anything else is a bug, which stops the writer (see its loop).
    /// </summary>
    private Written WriteBatch(Target target, ref bool directory)
    {
        var (bytes, count, round) = target.TakeBatch();
        var opened = false;
        long? before = null;
        try
        {
            if (target.File is null)
            {
                target.File = Open(target);
                opened = directory = true;
            }

            before = target.File.Position;
            target.File.Write(bytes.Span);
            Interlocked.Increment(ref _writes);
            target.Refusing = false;
            return new Written(target, Hold(target.File), round, opened);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Told first: should the log or the cut-back below throw (a bug), this batch is in neither the targets
            // nor the written list the writer's loop refuses.
            round?.TrySetResult(false);
            if (!target.Refusing)
            {
                // Once until a write succeeds: a full disk refuses every round's batch, thousands a second under load.
                target.Refusing = true;
                LogWriteFailed(_logger, count, target.Node, e);
            }

            // The file may hold part of the batch: cut back to its whole records, and the next batch goes to a new file.
            if (CutBack(target.File, before))
            {
                target.Pending -= count;
                _refused += count;
            }

            Abandon(target);
            return new Written(target, null, round, opened);
        }
        catch
        {
            // A bug (the writer's loop then refuses everything): this batch's callers are in neither the targets
            // nor the written list that loop refuses, so they hear it here. Its hints stay pending: some of its
            // bytes may be in the file.
            round?.TrySetResult(false);
            throw;
        }
        finally
        {
            target.TrimBatch();
        }
    }

    /// <summary>
    /// Under the lock, after a failed write: cuts <paramref name="file"/> (null when it could not be opened)
    /// back to <paramref name="before"/> (null when nothing was written); whether none of the batch is left in it. When the cut fails too,
    /// whole records of the batch may remain, to be read and counted off at handoff: they stay pending, and
    /// a reader stops at the first torn record.
    /// </summary>
    private static bool CutBack(FileStream? file, long? before)
    {
        if (file is null || before is not { } length)
        {
            return true;
        }

        try
        {
            file.SetLength(length);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            try
            {
                // A device or a file that cannot be cut, to which nothing was written (a full disk refuses the first byte).
                return RandomAccess.GetLength(file.SafeFileHandle) == length;
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Outside the lock: syncs the directory if a file was created (its name must outlive a crash as its
    /// bytes do), then each file written, and tells each round whether its hints are kept. A failed sync
    /// fails every caller of its round and abandons the file (after a failed fsync Linux may mark the
    /// lost pages clean, so a later sync of the same file would succeed without them); its hints stay
    /// pending, to be delivered if they can be read, the caller not counting them.
    /// </summary>
    private void Commit(List<Written> written, bool directory)
    {
        var directoryFailed = false;
        if (directory)
        {
            try
            {
                DurableFile.SyncDirectory(_directory);
            }
            catch (IOException e)
            {
                LogDirectorySyncFailed(_logger, e);
                directoryFailed = true;
            }
        }

        for (var i = 0; i < written.Count; i++)
        {
            var (target, handle, round, opened) = written[i];
            var kept = false;
            if (handle is not null)
            {
                try
                {
                    if (!(opened && directoryFailed))
                    {
                        Sync(handle);
                        kept = true;
                    }
                }
                catch (IOException e)
                {
                    // Not kept: said below.
                    LogSyncFailed(_logger, target.Node, e);
                }
                finally
                {
                    // Released once: a bug thrown from here on leaves the batches after this one for the writer's loop to release.
                    written[i] = written[i] with { Handle = null };
                    handle.DangerousRelease();
                }

                if (!kept)
                {
                    lock (_gate)
                    {
                        if (target.File?.SafeFileHandle == handle)
                        {
                            Abandon(target);
                        }
                    }
                }
            }

            round?.TrySetResult(kept);
        }
    }

    /// <summary>A batch written to <see cref="Handle"/> (held open; null when the write failed or once released), whose callers wait on <see cref="Round"/> (none off fsync always).</summary>
    private readonly record struct Written(Target Target, SafeFileHandle? Handle, TaskCompletionSource<bool>? Round, bool Opened);
}

namespace DataPlane.Store.Hints;

/// <summary>
/// Hints nobody counts (<see cref="Keep"/>) off fsync always, kept on an event loop: they wait in their
/// node's batch until the loop's <see cref="WriteOut"/> at the end of its round writes each batch with one
/// call, as the loop writes the log's records, before it sleeps. One write call per hint cost 1.6 µs, about
/// half of a coordinator's whole SET, and with one node of three down every SET leaves a hint there; a hung
/// replica leaves one per write it had in flight when they time out together. Anywhere else (a pool
/// thread, the sockets transport, a loop after its round's write) a hint is written at once, as before, so
/// a killed process loses none but those of a round not yet ended (and of a round a bug ended, until the
/// next heartbeat's <see cref="SyncWritten"/>). A hint that counts (<see cref="AddAsync"/>) takes the same
/// path and never waits: its node's batch, with it last, is written at once, so the file keeps the order
/// hints came in and one write call, one cut-back on failure and one count serve both.
/// </summary>
internal sealed partial class HintStore
{
    /// <summary>A batch this full is written at once: 64 KiB, some 450 hints of a 100-byte value.</summary>
    private const int WriteOutBytes = 64 * 1024;

    /// <summary>The store whose batches this thread, an event loop in its round, writes out at the round's end.</summary>
    [ThreadStatic]
    private static HintStore? t_roundWriter;

    /// <summary>Some batch holds kept hints (set under the lock, read without it at every round's end).</summary>
    private bool _kept;

    /// <summary>
    /// Keeps a write for <paramref name="node"/> if the disk takes it, for a caller that counts nothing on
    /// it (a replica that did not confirm, whose write was already decided): the caller never waits for an
    /// fsync, nor, on an event loop in its round (<see cref="BeginRound"/>), for a write call of its own.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not a node id (it names a file).</exception>
    public void Keep(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        if (_fsync)
        {
            _ = Enqueue(node, key, stored);
        }
        else
        {
            _ = Add(node, key, stored, mayWait: true);
        }
    }

    /// <summary>
    /// The calling event loop starts a round and will call <see cref="WriteOut"/> at its end: until then
    /// <see cref="Keep"/> on this thread adds to the batch instead of writing.
    /// </summary>
    public void BeginRound() => t_roundWriter = this;

    /// <summary>
    /// Writes every batch <see cref="Keep"/> filled, one write call each (off fsync always), and ends the calling
    /// thread's round (<see cref="SyncWritten"/> too, which calls this): a hint kept on it from here on is written
    /// at once. A read when nothing was kept.
    /// </summary>
    public void WriteOut()
    {
        if (t_roundWriter == this)
        {
            t_roundWriter = null;
        }

        if (!Volatile.Read(ref _kept))
        {
            return;
        }

        lock (_gate)
        {
            _kept = false;
            try
            {
                foreach (var target in _targets.Values)
                {
                    WriteKeptBatch(target);
                }
            }
            catch
            {
                // A bug (a disk's refusal is handled inside): the batches not reached are written by the next call.
                _kept = true;
                throw;
            }
        }
    }

    /// <summary>
    /// Off fsync always: adds a hint to its node's batch (pending from now) and writes the batch, unless the hint
    /// <paramref name="mayWait"/> for the end of the calling loop's round and the batch is not full. False when the
    /// store is closing or the file system refused the batch.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not a node id (it names a file).</exception>
    private bool Add(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, bool mayWait)
    {
        ThrowIfNotANode(node);
        lock (_gate)
        {
            if (TryAppend(node, key, stored) is not { } target)
            {
                return false;
            }

            if (mayWait && t_roundWriter == this && target.BatchLength < WriteOutBytes)
            {
                _kept = true;
                return true;
            }

            return WriteKept(target);
        }
    }

    /// <summary>Under the lock: copies a hint into its node's batch, pending from now; null (and counted as refused) once the store takes no more.</summary>
    private Target? TryAppend(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        if (_stopping || _broken)
        {
            _refused++;
            return null;
        }

        var target = TargetFor(node);
        target.Append(key, stored);
        target.Pending++;
        return target;
    }

    /// <summary>Under the lock: off fsync always, writes the hints a node's batch still holds (its batch under fsync always is the writer's).</summary>
    private void WriteKeptBatch(Target target)
    {
        if (!_fsync && target.Batched > 0)
        {
            WriteKept(target);
        }
    }

    /// <summary>
    /// Under the lock, off fsync always: writes the node's batch to its file; whether it was written. A batch the
    /// file system refuses is lost to this node (read repair and anti-entropy catch the replica up); it is no
    /// longer pending unless part of it may be left in the file, and the next batch goes to a new file.
    /// </summary>
    private bool WriteKept(Target target)
    {
        var directory = false;
        var written = WriteBatch(target, ref directory);
        _directoryUnsynced |= directory;
        if (written.Handle is not { } handle)
        {
            return false;
        }

        handle.DangerousRelease();
        target.Unsynced = true;
        return true;
    }
}

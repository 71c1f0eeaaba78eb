using System.Globalization;
using DataPlane.Net.IO;

namespace DataPlane.Store.Hints;

/// <summary>
/// Durable hints: writes kept for a node that was down, one append-only file series per target node
/// (<c>hints/&lt;node&gt;.&lt;sequence&gt;.hints</c>). Delivery seals the file being appended (new hints
/// go to the next one), hands the sealed files over, and deletes each once every hint in it was
/// acknowledged. A hint is acknowledged to the coordinator only after it is written (and fsynced
/// under <see cref="FsyncMode.Always"/>), so it survives a crash of this process; otherwise
/// <see cref="SyncWritten"/>, every heartbeat, makes it durable as the write-ahead log's everysec does.
/// </summary>
internal sealed class HintStore : IDisposable
{
    private readonly string _directory;
    private readonly bool _fsync;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);
    private bool _directoryUnsynced;

    public HintStore(string directory, bool fsync)
    {
        _directory = directory;
        _fsync = fsync;
        DurableFile.CreateDirectory(directory);
        foreach (var path in Directory.GetFiles(directory, "*.hints"))
        {
            if (TryParseName(path, out var node, out var sequence))
            {
                var target = TargetFor(node);
                target.Sequence = Math.Max(target.Sequence, sequence);
                target.Pending += HintRecord.ReadAll(path).Count();
            }
        }
    }

    /// <summary>Hints held for <paramref name="node"/> and not yet acknowledged by it.</summary>
    public long PendingFor(string node)
    {
        lock (_lock)
        {
            return _targets.TryGetValue(node, out var target) ? target.Pending : 0;
        }
    }

    /// <summary>Hints delivered and deleted since this node started.</summary>
    public long Delivered { get; private set; }

    /// <summary>
    /// Keeps a write for <paramref name="node"/>, durably; false when the file system refused it (a full
    /// disk, a hints directory gone or not writable): the caller must not count it as kept.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not a node id (it names a file).</exception>
    public bool TryAdd(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        if (!Cluster.ClusterOptions.IsValidName(node))
        {
            throw new ArgumentException($"'{node}' is not a node id", nameof(node));
        }

        var record = HintRecord.Encode(key, stored);
        lock (_lock)
        {
            var target = TargetFor(node);
            try
            {
                if (target.File is null)
                {
                    // Unbuffered: each record is one write to the file, and one the disk refused is not written again at Dispose.
                    target.File = new FileStream(PathFor(node, ++target.Sequence), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
                    if (_fsync)
                    {
                        DurableFile.SyncDirectory(_directory); // the hint's fsync below covers the file's bytes, not its name
                    }
                    else
                    {
                        _directoryUnsynced = true;
                    }
                }

                target.File.Write(record);
                target.File.Flush(_fsync);
                target.Unsynced = !_fsync;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The file may hold part of the record: the next hint goes to a new file, and a reader stops at the torn one.
                var file = target.File;
                target.File = null;
                target.Unsynced = false;
                file?.Dispose();
                return false;
            }

            target.Pending++;
            return true;
        }
    }

    /// <summary>
    /// Makes the hints written since the last call durable (off <see cref="FsyncMode.Always"/>, which syncs
    /// each): an fdatasync per file written to, outside the lock, so that adding hints does not wait for the
    /// disk. Returns how many files it synced.
    /// </summary>
    /// <exception cref="IOException">The disk refused the sync.</exception>
    public int SyncWritten()
    {
        var pending = new List<(Target Target, Microsoft.Win32.SafeHandles.SafeFileHandle Handle)>();
        bool directory;
        lock (_lock)
        {
            foreach (var target in _targets.Values)
            {
                if (target.Unsynced && target.File is { } file)
                {
                    // The reference keeps the descriptor open (and its number not reused) if the file is sealed meanwhile.
                    var added = false;
                    file.SafeFileHandle.DangerousAddRef(ref added);
                    pending.Add((target, file.SafeFileHandle));
                    target.Unsynced = false;
                }
            }

            (directory, _directoryUnsynced) = (_directoryUnsynced, false);
        }

        try
        {
            foreach (var (_, handle) in pending)
            {
                DurableFile.FlushData(handle);
            }

            if (directory)
            {
                DurableFile.SyncDirectory(_directory);
            }
        }
        catch (IOException)
        {
            // Marked again for the next call (the files still being appended): a sync repeated costs little.
            lock (_lock)
            {
                foreach (var (target, handle) in pending)
                {
                    target.Unsynced |= target.File?.SafeFileHandle == handle;
                }

                _directoryUnsynced |= directory;
            }

            throw;
        }
        finally
        {
            foreach (var (_, handle) in pending)
            {
                handle.DangerousRelease();
            }
        }

        return pending.Count;
    }

    /// <summary>The nodes this store keeps hints for.</summary>
    public List<string> Targets()
    {
        lock (_lock)
        {
            return [.. _targets.Where(t => t.Value.Pending > 0 || t.Value.File is not null).Select(t => t.Key)];
        }
    }

    /// <summary>Drops every hint for <paramref name="node"/>, which is no longer in the cluster; how many.</summary>
    public long Discard(string node)
    {
        lock (_lock)
        {
            // The target stays, with its file sequence: a node that joins again under the name starts a new file,
            // which a handoff of the old files still running cannot take for one of its own.
            if (!_targets.TryGetValue(node, out var target))
            {
                return 0;
            }

            target.File?.Dispose();
            target.File = null;
            target.Unsynced = false;
            foreach (var path in FilesOf(node))
            {
                File.Delete(path);
            }

            var discarded = target.Pending;
            target.Pending = 0;
            Dropped += discarded;
            return discarded;
        }
    }

    /// <summary>Closes the file being appended for <paramref name="node"/> and lists every file of its hints, oldest first.</summary>
    public List<string> Seal(string node)
    {
        lock (_lock)
        {
            var target = TargetFor(node);
            if (target.Unsynced && target.File is { } file)
            {
                // Handed off from here on: durable first, as a hint file the heartbeat would have synced.
                DurableFile.FlushData(file.SafeFileHandle);
                target.Unsynced = false;
            }

            target.File?.Dispose();
            target.File = null;
            return FilesOf(node);
        }
    }

    /// <summary>Hints dropped undelivered since this node started: older than the tombstone grace, or for a node that left.</summary>
    public long Dropped { get; private set; }

    /// <summary>Deletes a sealed file of <paramref name="count"/> hints, each acknowledged or (<paramref name="dropped"/> of them) dropped.</summary>
    public void Complete(string node, string path, int count, int dropped)
    {
        lock (_lock)
        {
            if (!File.Exists(path))
            {
                return; // Discarded meanwhile (its node left): its hints were counted then.
            }

            File.Delete(path);
            var target = TargetFor(node);
            target.Pending = Math.Max(0, target.Pending - count);
            Delivered += count - dropped;
            Dropped += dropped;
        }
    }

    /// <summary>
    /// The hints of a sealed file, read as they are delivered, <paramref name="size"/> at a time: a node
    /// down for long leaves one file of millions of hints, which must not be held in memory at once.
    /// </summary>
    public static IEnumerable<List<(byte[] Key, byte[] Stored)>> ReadWindows(string path, int size)
    {
        var window = new List<(byte[] Key, byte[] Stored)>(size);
        foreach (var record in HintRecord.ReadAll(path))
        {
            window.Add(record);
            if (window.Count == size)
            {
                yield return window;
                window = new List<(byte[] Key, byte[] Stored)>(size);
            }
        }

        if (window.Count > 0)
        {
            yield return window;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var target in _targets.Values)
            {
                target.File?.Dispose();
                target.File = null;
            }
        }
    }

    private Target TargetFor(string node)
    {
        if (!_targets.TryGetValue(node, out var target))
        {
            target = new Target();
            _targets[node] = target;
        }

        return target;
    }

    /// <summary>Every hint file of <paramref name="node"/>, oldest first.</summary>
    private List<string> FilesOf(string node)
    {
        var files = new List<(long Sequence, string Path)>();
        foreach (var path in Directory.GetFiles(_directory, node + ".*.hints"))
        {
            if (TryParseName(path, out var name, out var sequence) && name == node)
            {
                files.Add((sequence, path));
            }
        }

        files.Sort();
        return files.ConvertAll(f => f.Path);
    }

    private string PathFor(string node, long sequence) =>
        Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"{node}.{sequence:D10}.hints"));

    private static bool TryParseName(string path, out string node, out long sequence)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var dot = name.LastIndexOf('.');
        node = dot > 0 ? name[..dot] : string.Empty;
        sequence = 0;
        return dot > 0 && long.TryParse(name.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }

    private sealed class Target
    {
        public FileStream? File { get; set; }

        public long Sequence { get; set; }

        public long Pending { get; set; }

        /// <summary>Written to since its last sync.</summary>
        public bool Unsynced { get; set; }
    }
}

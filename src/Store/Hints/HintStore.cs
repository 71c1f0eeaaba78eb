using System.Globalization;
using DataPlane.Net.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Store.Hints;

/// <summary>
/// Durable hints: writes kept for a node that was down, one append-only file series per target node
/// (<c>hints/&lt;node&gt;.&lt;sequence&gt;.hints</c>). Delivery seals the file being appended (new hints
/// go to the next one), hands the sealed files over, and deletes each once every hint in it was
/// acknowledged. A hint counts as kept (<see cref="AddAsync"/> true) only once it would survive a crash
/// of this process, and under <see cref="FsyncMode.Always"/> of the machine. Under
/// <see cref="FsyncMode.Always"/> hints are group-committed as the write-ahead log's records are (see
/// <c>HintStore.Commit.cs</c>); otherwise each is written to its file at once (one that counts nothing,
/// kept on an event loop, at the end of the loop's round: see <c>HintStore.Kept.cs</c>) and
/// <see cref="SyncWritten"/>, every heartbeat, makes it durable as the log's everysec does.
/// </summary>
internal sealed partial class HintStore : IDisposable
{
    private static readonly Task<bool> NotKept = Task.FromResult(false);

    /// <summary>
    /// How long closing waits by default for the writer's last round once it has the store's lock: a sync hung on a
    /// failing disk must not hang the node's shutdown. (A write hung under the lock holds closing up before this wait.)
    /// </summary>
    private static readonly TimeSpan DefaultWriterStopTimeout = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly bool _fsync;
    private readonly Action<SafeFileHandle> _sync;
    private readonly ILogger _logger;
    private readonly TimeSpan _writerStopTimeout;
    private readonly object _gate = new();
    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);
    private readonly Thread? _writer;
    private bool _directoryUnsynced;
    private bool _stopping;
    private bool _closed;
    private long _syncs;
    private long _writes;
    private long _refused;

    /// <param name="directory">The hints directory, created if missing.</param>
    /// <param name="fsync">Whether each hint is fsynced before it counts as kept (<see cref="FsyncMode.Always"/>).</param>
    /// <param name="sync">How a hint file's data is made durable: <see cref="DurableFile.FlushData"/> unless a test stands in for the disk.</param>
    /// <param name="logger">Where the writer (fsync always) reports hints the disk refused; none when null.</param>
    /// <param name="writerStopTimeout">How long closing waits for the writer's last round: 10 s unless a test shortens it.</param>
    public HintStore(string directory, bool fsync, Action<SafeFileHandle>? sync = null, ILogger? logger = null, TimeSpan? writerStopTimeout = null)
    {
        _writerStopTimeout = writerStopTimeout ?? DefaultWriterStopTimeout;
        _directory = directory;
        _fsync = fsync;
        _sync = sync ?? DurableFile.FlushData;
        _logger = logger ?? NullLogger.Instance;
        DurableFile.CreateDirectory(directory);
        foreach (var path in Directory.GetFiles(directory, "*.hints"))
        {
            if (TryParseName(path, out var node, out var sequence))
            {
                var target = TargetFor(node);
                target.Sequence = Math.Max(target.Sequence, sequence);
                target.Pending += HintReader.Count(path);
            }
        }

        if (fsync)
        {
            _writer = new Thread(WriteLoop) { IsBackground = true, Name = "dataplane-store-hints" };
            _writer.Start();
        }
    }

    /// <summary>Hints held for <paramref name="node"/> and not yet acknowledged by it.</summary>
    public long PendingFor(string node)
    {
        lock (_gate)
        {
            return _targets.TryGetValue(node, out var target) ? target.Pending : 0;
        }
    }

    /// <summary>Hints delivered and deleted since this node started.</summary>
    public long Delivered { get; private set; }

    /// <summary>Hints dropped undelivered since this node started: older than the tombstone grace, or for a node that left.</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// Hints in no hint file since this node started: the file system refused their batch (a full disk), the
    /// store was closing or its writer had failed, or their file was gone when its node's hints were sealed.
    /// Their replicas catch up through read repair and anti-entropy. A batch whose failed write may have left
    /// part of it in the file, and a batch whose fsync failed, stay pending (delivered if they can be read).
    /// Read under the lock: a caller told its hint was refused then sees it counted.
    /// </summary>
    public long Refused
    {
        get
        {
            lock (_gate)
            {
                return _refused;
            }
        }
    }

    /// <summary>The syncs of hint files' data so far (under <see cref="FsyncMode.Always"/>, one per file and group commit).</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>Writes to hint files that succeeded, one call each: a batch, or a hint written at once.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>
    /// Keeps a write for <paramref name="node"/>, durably: true once it is kept (under
    /// <see cref="FsyncMode.Always"/> when the fsync that covers it is done, which completes the task on
    /// the writer thread; otherwise at once, written to the file); false when the file system refused it
    /// (a full disk, a hints directory gone or not writable, a hint file that is not a regular file, a failed
    /// fsync): the caller must not count it as kept.
    /// The key and value are copied before this returns.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="node"/> is not a node id (it names a file).</exception>
    public ValueTask<bool> AddAsync(string node, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored) =>
        _fsync ? new(Enqueue(node, key, stored)) : new(Add(node, key, stored, mayWait: false));

    /// <summary>
    /// Makes the hints written since the last call durable (off <see cref="FsyncMode.Always"/>, whose group
    /// commit syncs them): an fdatasync per file written to, outside the lock, so that adding hints does not
    /// wait for the disk. Returns how many files it synced.
    /// </summary>
    /// <exception cref="IOException">The disk refused the sync.</exception>
    public int SyncWritten()
    {
        WriteOut();
        var pending = new List<(Target Target, SafeFileHandle Handle)>();
        bool directory;
        lock (_gate)
        {
            foreach (var target in _targets.Values)
            {
                if (target.Unsynced && target.File is { } file)
                {
                    pending.Add((target, Hold(file)));
                    target.Unsynced = false;
                }
            }

            (directory, _directoryUnsynced) = (_directoryUnsynced, false);
        }

        try
        {
            foreach (var (_, handle) in pending)
            {
                Sync(handle);
            }

            if (directory)
            {
                DurableFile.SyncDirectory(_directory);
            }
        }
        catch (IOException)
        {
            // Marked again for the next call (the files still being appended): a sync repeated costs little.
            lock (_gate)
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
        lock (_gate)
        {
            return [.. _targets.Where(t => t.Value.Pending > 0 || t.Value.File is not null).Select(t => t.Key)];
        }
    }

    /// <summary>Drops every hint for <paramref name="node"/>, which is no longer in the cluster; how many.</summary>
    public long Discard(string node)
    {
        lock (_gate)
        {
            // The target stays, with its file sequence: a node that joins again under the name starts a new file,
            // which a handoff of the old files still running cannot take for one of its own.
            if (!_targets.TryGetValue(node, out var target))
            {
                return 0;
            }

            Abandon(target);
            target.TakeBatch().Round?.TrySetResult(false); // nobody will take them: not kept
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

    /// <summary>
    /// Closes the file being appended for <paramref name="node"/> and lists every file of its hints, oldest
    /// first. Hints still in a batch (fsync always) go to the next file.
    /// </summary>
    public List<string> Seal(string node)
    {
        lock (_gate)
        {
            var target = TargetFor(node);

            // Kept hints go in the file handed off, not in the next one.
            WriteKeptBatch(target);

            if (target.Unsynced && target.File is { } file)
            {
                // Handed off from here on: durable first, as a hint file the heartbeat would have synced.
                Sync(file.SafeFileHandle);
                target.Unsynced = false;
            }

            target.File?.Dispose();
            target.File = null;
            var files = FilesOf(node);
            if (files.Count == 0)
            {
                // Nothing left on disk to count off at handoff (a failed fsync's pages gone, a write whose cut-back
                // failed): what is pending is only what the writer has yet to write.
                _refused += Math.Max(0, target.Pending - target.Batched);
                target.Pending = target.Batched;
            }

            return files;
        }
    }

    /// <summary>Deletes a sealed file of <paramref name="count"/> hints, each acknowledged or (<paramref name="dropped"/> of them) dropped.</summary>
    public void Complete(string node, string path, long count, long dropped)
    {
        lock (_gate)
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

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        // The writer's last round commits what was added before: those callers still hear whether it was kept.
        // A writer stuck in a sync past the limit writes nothing more, and what it had not taken is refused.
        if (_writer is not null && !_writer.Join(_writerStopTimeout))
        {
            LogWriterStuck(_logger, _writerStopTimeout.TotalSeconds);
        }
        lock (_gate)
        {
            _closed = true;
            foreach (var target in _targets.Values)
            {
                WriteKeptBatch(target);
                var (_, count, round) = target.TakeBatch();
                target.Pending -= count;
                _refused += count;
                round?.TrySetResult(false);
                target.File?.Dispose();
                target.File = null;
                target.ReturnBatch();
            }
        }
    }

    /// <summary>Makes a file's data durable (through the seam, counted).</summary>
    private void Sync(SafeFileHandle handle)
    {
        _sync(handle);
        Interlocked.Increment(ref _syncs);
    }

    /// <summary>Under the lock: takes a reference to the file's descriptor, which keeps it open (and its number not reused) if the file is closed meanwhile.</summary>
    private static SafeFileHandle Hold(FileStream file)
    {
        var added = false;
        file.SafeFileHandle.DangerousAddRef(ref added);
        return file.SafeFileHandle;
    }

    /// <summary>Under the lock: closes the file being appended; the next hint for its node goes to a new one.</summary>
    private static void Abandon(Target target)
    {
        var file = target.File;
        target.File = null;
        target.Unsynced = false;
        file?.Dispose();
    }

    private static void ThrowIfNotANode(string node)
    {
        if (!Cluster.ClusterOptions.IsValidName(node))
        {
            throw new ArgumentException($"'{node}' is not a node id", nameof(node));
        }
    }

    private Target TargetFor(string node)
    {
        if (!_targets.TryGetValue(node, out var target))
        {
            target = new Target(node);
            _targets[node] = target;
        }

        return target;
    }

    /// <summary>Unbuffered: each write is one system call, and one the disk refused is not written again at Dispose.</summary>
    private FileStream Open(Target target) =>
        new(PathFor(target.Node, ++target.Sequence), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);

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
}

using System.Globalization;
using DataPlane.Log.Records;
using Microsoft.Win32.SafeHandles;

namespace DataPlane.Log.Storage;

/// <summary>
/// One segment: <c>&lt;base offset, 20 digits&gt;.log</c> with its <c>.index</c> and <c>.timeindex</c>. The
/// partition's flusher is its only writer; readers see <see cref="Size"/> bytes, published after they are written.
/// </summary>
internal sealed class Segment : IDisposable
{
    private readonly int _indexInterval;
    private long _size;
    private long _nextOffset;
    private long _maxTimestamp = -1;
    private long _lastBatchBase = -1;
    private int _bytesSinceIndex;

    private Segment(string directory, long baseOffset, int indexInterval, long createdMs, long maxBytes,
        Action<SafeFileHandle, long> preallocate)
    {
        BaseOffset = baseOffset;
        _indexInterval = indexInterval;
        _nextOffset = baseOffset;
        CreatedMs = createdMs;
        var stem = Path.Combine(directory, baseOffset.ToString("D20", CultureInfo.InvariantCulture));
        LogPath = stem + ".log";
        var existed = File.Exists(LogPath);
        Log = File.OpenHandle(LogPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        _size = RandomAccess.GetLength(Log);
        WritebackFrom = _size;
        SegmentIndex? offsets = null;
        try
        {
            var growTo = Math.Max(maxBytes, _size);
            offsets = SegmentIndex.Open(stem + ".index", isTime: false, out var offsetsValid, maxBytes == 0 ? 0 : IndexCapacity(growTo, 8), preallocate, reopen: existed);
            Times = SegmentIndex.Open(stem + ".timeindex", isTime: true, out var timesValid, maxBytes == 0 ? 0 : IndexCapacity(growTo, 12), preallocate, reopen: existed);
            Offsets = offsets;
            IndexesValid = offsetsValid && timesValid;
        }
        catch
        {
            // A full disk refused the indexes' room: a segment that was not there before leaves no file behind.
            offsets?.Dispose();
            Log.Dispose();
            if (!existed)
            {
                File.Delete(LogPath);
                File.Delete(stem + ".index");
                File.Delete(stem + ".timeindex");
            }

            throw;
        }
    }

    public long BaseOffset { get; }

    public string LogPath { get; }

    public SafeFileHandle Log { get; }

    public SegmentIndex Offsets { get; }

    public SegmentIndex Times { get; }

    /// <summary>Whether both index files existed and were well formed when the segment was opened.</summary>
    public bool IndexesValid { get; }

    /// <summary>When the segment was created or opened, for <c>segment.ms</c>.</summary>
    public long CreatedMs { get; }

    /// <summary>Bytes of whole batches readers may see.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>The offset after the segment's last batch.</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    /// <summary>Where the writer has not yet started writeback (see <see cref="Writeback"/>); the writer's alone.</summary>
    public long WritebackFrom { get; set; }

    /// <summary>The largest batch max-timestamp in the segment; -1 while it is empty.</summary>
    public long MaxTimestamp => Volatile.Read(ref _maxTimestamp);

    /// <summary>Whether an index has no room for another entry (the time index keeps one for the entry sealing the segment).</summary>
    public bool IndexesFull => Offsets.Count >= Offsets.Capacity || Times.Count >= Times.Capacity - 1;

    /// <summary>
    /// Opens (or creates) a segment. One that takes appends (<paramref name="maxBytes"/> above 0, the most bytes it
    /// may grow to) gets its indexes preallocated for that many bytes; a closed one maps its indexes as they are,
    /// and so does an existing one whose room a full disk refuses (it rolls at its next append).
    /// </summary>
    /// <exception cref="IOException">A file could not be opened, or a new segment's indexes' room not reserved (a full disk).</exception>
    public static Segment Open(string directory, long baseOffset, int indexInterval, long createdMs, long maxBytes,
        Action<SafeFileHandle, long> preallocate) =>
        new(directory, baseOffset, indexInterval, createdMs, maxBytes, preallocate);

    public static bool TryParseBaseOffset(string logPath, out long baseOffset) =>
        long.TryParse(Path.GetFileNameWithoutExtension(logPath), NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset)
        && Path.GetFileNameWithoutExtension(logPath).Length == 20;

    /// <summary>Records a batch the flusher wrote at <paramref name="position"/>, adding sparse index entries as Kafka does.</summary>
    public void OnBatchWritten(long baseOffset, long lastOffset, long maxTimestamp, long position, int size)
    {
        // A full index (only under the 10 MiB cap: a tiny index.interval.bytes) skips entries until the segment rolls;
        // a sparser index finds the same batches, scanning further from its entries.
        if (_bytesSinceIndex > _indexInterval && !IndexesFull)
        {
            Offsets.Add(baseOffset - BaseOffset, (int)position);
            var maxSoFar = Math.Max(_maxTimestamp, maxTimestamp);
            if (maxSoFar > Times.LastKey)
            {
                Times.Add(maxSoFar, (int)(baseOffset - BaseOffset));
            }

            _bytesSinceIndex = 0;
        }

        _bytesSinceIndex += size;
        _lastBatchBase = baseOffset;
        if (maxTimestamp > _maxTimestamp)
        {
            Volatile.Write(ref _maxTimestamp, maxTimestamp);
        }

        Volatile.Write(ref _nextOffset, lastOffset + 1);
    }

    /// <summary>Makes written bytes visible to readers (after the batches are recorded).</summary>
    public void Publish(long size) => Volatile.Write(ref _size, size);

    /// <summary>Cuts the log file (recovery, or undoing a failed write) and forgets index entries past the cut.</summary>
    public void Truncate(long size)
    {
        RandomAccess.SetLength(Log, size);
        Volatile.Write(ref _size, size);
        WritebackFrom = Math.Min(WritebackFrom, size);
        var keep = Offsets.Count;
        while (keep > 0 && Offsets.ValueAt(keep - 1) >= size)
        {
            keep--;
        }

        Offsets.TruncateTo(keep);
    }

    /// <summary>Restores the recovered end of the segment after a scan.</summary>
    public void SetRecovered(long nextOffset, long maxTimestamp, long lastBatchBase, int bytesSinceIndex)
    {
        _nextOffset = nextOffset;
        _maxTimestamp = maxTimestamp;
        _lastBatchBase = lastBatchBase;
        _bytesSinceIndex = bytesSinceIndex;
        var keep = Times.Count;
        while (keep > 0 && Times.ValueAt(keep - 1) + BaseOffset >= nextOffset)
        {
            keep--;
        }

        Times.TruncateTo(keep);
    }

    /// <summary>Adds the closing time-index entry Kafka writes on roll, so the max timestamp survives a restart.</summary>
    public void SealTimeIndex()
    {
        if (_lastBatchBase >= 0 && _maxTimestamp > Times.LastKey && Times.Count < Times.Capacity)
        {
            Times.Add(_maxTimestamp, (int)(_lastBatchBase - BaseOffset));
        }
    }

    /// <summary>Makes room in the indexes for every entry of the log file as it is (recovery's rebuild, before any reader).</summary>
    public void ReserveIndexes()
    {
        var bytes = RandomAccess.GetLength(Log);
        Offsets.Reserve(IndexCapacity(bytes, 8));
        Times.Reserve(IndexCapacity(bytes, 12));
    }

    /// <summary>Cuts the indexes' files to their entries: the segment is closed and takes no more.</summary>
    public void TrimIndexes()
    {
        Offsets.Trim();
        Times.Trim();
    }

    /// <summary>fsync of the log file and the indexes (the indexes' pages are otherwise written back by the kernel when it likes).</summary>
    public void SyncAll()
    {
        RandomAccess.FlushToDisk(Log);
        Offsets.Sync();
        Times.Sync();
    }

    public void DeleteFiles()
    {
        File.Delete(LogPath);
        File.Delete(Offsets.Path);
        File.Delete(Times.Path);
    }

    /// <summary>
    /// The most entries an index of a segment of <paramref name="bytes"/> can get: one per more than
    /// index.interval.bytes, and a batch is at least its header; one more for the sealing time entry. At most
    /// <see cref="SegmentIndex.MaxBytes"/>. A 1 GiB segment at the default 4096 takes 2 MiB and 3 MiB.
    /// </summary>
    private int IndexCapacity(long bytes, int entrySize) =>
        (int)Math.Min((bytes / Math.Max(_indexInterval + 1L, RecordBatch.HeaderSize)) + 2, SegmentIndex.MaxBytes / entrySize);

    public void Dispose()
    {
        Log.Dispose();
        try
        {
            Offsets.Dispose();
        }
        finally
        {
            Times.Dispose(); // its mapping and file too, even if cutting the offset index failed
        }
    }
}

using System.Globalization;
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

    private Segment(string directory, long baseOffset, int indexInterval, long createdMs)
    {
        BaseOffset = baseOffset;
        _indexInterval = indexInterval;
        _nextOffset = baseOffset;
        CreatedMs = createdMs;
        var stem = Path.Combine(directory, baseOffset.ToString("D20", CultureInfo.InvariantCulture));
        LogPath = stem + ".log";
        Log = File.OpenHandle(LogPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        Offsets = SegmentIndex.Open(stem + ".index", isTime: false, out var offsetsValid);
        Times = SegmentIndex.Open(stem + ".timeindex", isTime: true, out var timesValid);
        IndexesValid = offsetsValid && timesValid;
        _size = RandomAccess.GetLength(Log);
        WritebackFrom = _size;
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

    public static Segment Open(string directory, long baseOffset, int indexInterval, long createdMs) =>
        new(directory, baseOffset, indexInterval, createdMs);

    public static bool TryParseBaseOffset(string logPath, out long baseOffset) =>
        long.TryParse(Path.GetFileNameWithoutExtension(logPath), NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset)
        && Path.GetFileNameWithoutExtension(logPath).Length == 20;

    /// <summary>Records a batch the flusher wrote at <paramref name="position"/>, adding sparse index entries as Kafka does.</summary>
    public void OnBatchWritten(long baseOffset, long lastOffset, long maxTimestamp, long position, int size)
    {
        if (_bytesSinceIndex > _indexInterval)
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
        if (_lastBatchBase >= 0 && _maxTimestamp > Times.LastKey)
        {
            Times.Add(_maxTimestamp, (int)(_lastBatchBase - BaseOffset));
        }
    }

    public void PersistIndexes()
    {
        Offsets.Persist();
        Times.Persist();
    }

    /// <summary>fsync of the log file (indexes are rebuilt from it after a crash, so they are only written).</summary>
    public void Sync() => RandomAccess.FlushToDisk(Log);

    public void SyncAll()
    {
        PersistIndexes();
        Sync();
        Offsets.Sync();
        Times.Sync();
    }

    public void DeleteFiles()
    {
        File.Delete(LogPath);
        File.Delete(Offsets.Path);
        File.Delete(Times.Path);
    }

    public void Dispose()
    {
        Log.Dispose();
        Offsets.Dispose();
        Times.Dispose();
    }
}

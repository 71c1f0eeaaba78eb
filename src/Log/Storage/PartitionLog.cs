using DataPlane.Net.IO;

namespace DataPlane.Log.Storage;

/// <summary>
/// One partition: its segments, its single writer (the flusher) and lock-free readers. Appenders validate on
/// their own thread, copy their batches into the group that is filling and wait for it; the flusher writes
/// whole groups, rolls segments, fsyncs by the flush policy and completes the groups.
/// </summary>
internal sealed partial class PartitionLog : IAsyncDisposable
{
    private readonly string _directory;
    private readonly TopicConfig _config;
    private readonly CommitLogOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _segmentsLock = new();
    private Segment[] _segments;
    private long _highWatermark;

    private PartitionLog(string directory, TopicConfig config, CommitLogOptions options, Segment[] segments)
    {
        _directory = directory;
        _config = config;
        _options = options;
        _time = options.TimeProvider;
        _segments = segments;
        _highWatermark = segments[^1].NextOffset;
        var capacity = Math.Max(options.GroupCommitBytes, 2L * config.MaxMessageBytes);
        _filling = new AppendGroup(capacity);
        _writing = new AppendGroup(capacity);
        _nextOffset = _highWatermark;
        _lastSyncMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var name = System.IO.Path.GetFileName(directory);
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "log writer " + name };
        _syncer = new Thread(SyncLoop) { IsBackground = true, Name = "log syncer " + name };
        _syncer.Start();
        _writer.Start();
    }

    public string Directory => _directory;

    public TopicConfig Config => _config;

    public long HighWatermark => Volatile.Read(ref _highWatermark);

    public long LogStartOffset => Volatile.Read(ref _segments)[0].BaseOffset;

    internal IReadOnlyList<Segment> Segments => Volatile.Read(ref _segments);

    /// <summary>Opens the partition's folder (creating it), recovering the last segment if the stop was unclean.</summary>
    public static PartitionLog Open(string directory, TopicConfig config, CommitLogOptions options, bool clean)
    {
        var created = DurableFile.CreateDirectory(directory);
        var segments = LoadSegments(directory, config, options, clean);
        if (created)
        {
            DurableFile.SyncDirectory(directory); // the first segment's name
        }

        return new PartitionLog(directory, config, options, segments);
    }

    /// <summary>Drains pending appends, syncs everything and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_appendLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _work.Release();
        await _stopped.Task.ConfigureAwait(false);
        _flushTimer?.Dispose();
        CloseAllDeleted();
        foreach (var segment in Volatile.Read(ref _segments))
        {
            segment.SealTimeIndex();
            segment.SyncAll();
            segment.Dispose();
        }

    }
}

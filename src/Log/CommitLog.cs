using System.Collections.Concurrent;
using System.Globalization;
using DataPlane.Log.Storage;
using DataPlane.Net.IO;

namespace DataPlane.Log;

/// <summary>
/// The embedded commit log: topics of partitions, each a sequence of segments holding Kafka RecordBatch v2
/// batches byte for byte. Appends are validated, given offsets and group-committed by the partition's flush
/// policy; reads return file ranges of whole batches. Open one per data directory; dispose it to stop
/// cleanly (a clean stop skips the CRC check of the tail on the next open).
/// </summary>
public sealed class CommitLog : IAsyncDisposable, IDisposable
{
    private const string CleanShutdownFile = ".clean-shutdown";
    private readonly CommitLogOptions _options;
    private readonly TopicCatalog _catalog;
    private readonly ConcurrentDictionary<string, PartitionLog[]> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TopicEntry> _entries;
    private readonly Lock _topicsLock = new();
    private readonly ITimer _retentionTimer;
    private int _disposed;

    private CommitLog(CommitLogOptions options, bool clean)
    {
        _options = options;
        _catalog = new TopicCatalog(options.DataDirectory);
        _entries = _catalog.Load();
        try
        {
            foreach (var (name, entry) in _entries)
            {
                _topics[name] = OpenPartitions(name, entry, clean);
            }
        }
        catch
        {
            // The topics opened before the one that failed have their flusher threads and files: a failed open
            // must not leave them running in a process that goes on (and may open this directory again).
            foreach (var partitions in _topics.Values)
            {
                Close(partitions);
            }

            throw;
        }

        _retentionTimer = options.TimeProvider.CreateTimer(
            static state => ((CommitLog)state!).EnforceRetention(), this, options.RetentionCheckInterval, options.RetentionCheckInterval);
    }

    /// <summary>The data directory the log was opened over.</summary>
    public string DataDirectory => _options.DataDirectory;

    /// <summary>The names of the topics.</summary>
    public IReadOnlyCollection<string> Topics => [.. _topics.Keys];

    /// <summary>
    /// Opens the log over <see cref="CommitLogOptions.DataDirectory"/>, creating it if missing. After an
    /// unclean stop the tail of every partition's last segment is checked batch by batch and cut at the first
    /// batch that is not whole; missing or damaged indexes are rebuilt.
    /// </summary>
    /// <param name="options">Where the data lives and how the log behaves.</param>
    public static CommitLog Open(CommitLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.DefaultTopicConfig.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        DurableFile.CreateDirectory(options.DataDirectory);
        var marker = Path.Combine(options.DataDirectory, CleanShutdownFile);
        var clean = File.Exists(marker);
        var log = new CommitLog(options, clean);
        if (clean)
        {
            // Until the marker is gone for good, a crash would make the next start skip the checks of an
            // unclean one, over a tail this run may have left half-written.
            File.Delete(marker);
            DurableFile.SyncDirectory(options.DataDirectory);
        }

        return log;
    }

    /// <summary>Creates a topic with <paramref name="partitions"/> partitions.</summary>
    /// <param name="name">ASCII letters, digits, '.', '_' and '-', at most 249 characters (Kafka's rule).</param>
    /// <param name="partitions">The partition count, at least 1.</param>
    /// <param name="config">The topic's settings; <see cref="CommitLogOptions.DefaultTopicConfig"/> when null.</param>
    /// <returns><see cref="LogError.None"/>, or why the topic was not created.</returns>
    public LogError CreateTopic(string name, int partitions, TopicConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        config ??= _options.DefaultTopicConfig;
        if (!IsValidTopicName(name))
        {
            return LogError.InvalidTopic;
        }

        if (partitions < 1)
        {
            return LogError.InvalidPartitions;
        }

        if (config.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(config));
        }

        lock (_topicsLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_entries.ContainsKey(name))
            {
                return LogError.TopicAlreadyExists;
            }

            var entry = new TopicEntry(partitions, config);
            PartitionLog[] opened;
            try
            {
                // Before the catalog names the topic: a full disk that refuses a partition's preallocated index
                // leaves no topic behind, rather than one the catalog lists and this process cannot serve.
                opened = OpenPartitions(name, entry, clean: true);
            }
            catch (IOException)
            {
                return LogError.StorageError;
            }

            _entries[name] = entry;
            try
            {
                _catalog.Save(_entries);
            }
            catch
            {
                _entries.Remove(name);
                Close(opened);
                throw;
            }

            _topics[name] = opened;
            return LogError.None;
        }
    }

    /// <summary>The partition count of <paramref name="topic"/>, or 0 if there is no such topic.</summary>
    /// <param name="topic">The topic's name.</param>
    public int GetPartitionCount(string topic) => _topics.TryGetValue(topic, out var partitions) ? partitions.Length : 0;

    /// <summary>
    /// Appends one or more RecordBatch v2 batches (laid end to end, as a producer sends them) to a partition.
    /// Every batch is checked first (length, magic, CRC-32C, record count, size); if one fails nothing is
    /// appended. The offsets are stamped into the stored batches; the result comes after the write (and,
    /// under <see cref="FlushPolicy.Durable"/>, after the fsync) that covers them.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="batches">
    /// The batches. The log writes these bytes themselves (with its own stamped copy of each header), so they must
    /// stay unchanged until the returned task completes; the log never changes them.
    /// </param>
    public ValueTask<AppendResult> AppendAsync(string topic, int partition, ReadOnlyMemory<byte> batches) =>
        TryGet(topic, partition, out var log)
            ? log.AppendAsync(batches)
            : ValueTask.FromResult(AppendResult.Failed(LogError.UnknownTopicOrPartition));

    /// <summary>
    /// Reads from the batch holding <paramref name="offset"/>: whole batches up to <paramref name="maxBytes"/>
    /// (the first batch whole even if it is larger), the last possibly cut at the budget, as a Kafka fetch does.
    /// An offset below the log start or above the high watermark gives <see cref="LogError.OffsetOutOfRange"/>;
    /// at the high watermark the slice is empty.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="offset">The first offset wanted.</param>
    /// <param name="maxBytes">The byte budget.</param>
    public ReadResult Read(string topic, int partition, long offset, int maxBytes) =>
        TryGet(topic, partition, out var log)
            ? log.Read(offset, maxBytes)
            : new ReadResult(LogError.UnknownTopicOrPartition, -1, -1, default);

    /// <summary>The first offset whose record's timestamp is at or after <paramref name="timestamp"/> (Kafka's ListOffsets by time).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="timestamp">Milliseconds since the Unix epoch.</param>
    public TimestampOffset FindOffset(string topic, int partition, long timestamp) =>
        TryGet(topic, partition, out var log)
            ? log.FindOffset(timestamp)
            : new TimestampOffset(LogError.UnknownTopicOrPartition, -1, -1);

    /// <summary>The log start offset and high watermark of a partition.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    public PartitionOffsets GetOffsets(string topic, int partition) =>
        TryGet(topic, partition, out var log)
            ? new PartitionOffsets(LogError.None, log.LogStartOffset, log.HighWatermark)
            : new PartitionOffsets(LogError.UnknownTopicOrPartition, -1, -1);

    /// <summary>Runs retention on every partition now (it also runs every <see cref="CommitLogOptions.RetentionCheckInterval"/>).</summary>
    /// <returns>The number of segments deleted.</returns>
    public int EnforceRetention()
    {
        var deleted = 0;
        foreach (var partitions in _topics.Values)
        {
            foreach (var partition in partitions)
            {
                deleted += partition.EnforceRetention();
            }
        }

        return deleted;
    }

    /// <summary>Drains pending appends, syncs every segment and index, and leaves the clean-shutdown marker.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _retentionTimer.DisposeAsync().ConfigureAwait(false);
        foreach (var partitions in _topics.Values)
        {
            foreach (var partition in partitions)
            {
                await partition.DisposeAsync().ConfigureAwait(false);
            }
        }

        await File.WriteAllBytesAsync(Path.Combine(_options.DataDirectory, CleanShutdownFile), []).ConfigureAwait(false);
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal bool TryGet(string topic, int partition, out PartitionLog log)
    {
        if (_topics.TryGetValue(topic, out var partitions) && (uint)partition < (uint)partitions.Length)
        {
            log = partitions[partition];
            return true;
        }

        log = null!;
        return false;
    }

    private static bool IsValidTopicName(string name)
    {
        if (name.Length is 0 or > 249 || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private PartitionLog[] OpenPartitions(string name, TopicEntry entry, bool clean)
    {
        var partitions = new PartitionLog[entry.Partitions];
        try
        {
            for (var i = 0; i < partitions.Length; i++)
            {
                var directory = Path.Combine(_options.DataDirectory, name + "-" + i.ToString(CultureInfo.InvariantCulture));
                partitions[i] = PartitionLog.Open(directory, entry.Config, _options, clean);
            }
        }
        catch
        {
            Close(partitions);
            throw;
        }

        return partitions;
    }

    /// <summary>Closes partitions of a topic that was not created (nothing was appended: it only closes their files).</summary>
    private static void Close(PartitionLog?[] partitions)
    {
        foreach (var partition in partitions)
        {
            partition?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

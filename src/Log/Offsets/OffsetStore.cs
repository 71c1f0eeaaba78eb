using System.Collections.Concurrent;
using System.Text;
using DataPlane.Log.Groups;
using DataPlane.Log.Producer;
using DataPlane.Log.Records;

namespace DataPlane.Log.Offsets;

/// <summary>
/// Committed offsets: durable in the log's internal <c>__consumer_offsets</c> topic (a group's commits all go to one
/// partition, so one commit is one batch and lands whole or not at all), cached in memory and loaded from the topic
/// at start-up, the latest record per key winning. A partition that grows two closed segments is compacted: the
/// latest commit of every key still in a closed segment is written again at the tail, then the closed segments go.
/// </summary>
internal sealed class OffsetStore
{
    public const string TopicName = "__consumer_offsets";
    private const int ReadBytes = 1 << 20;

    private readonly CommitLog _log;
    private readonly TimeProvider _time;
    private readonly int _partitions;
    private readonly ConcurrentDictionary<(string Group, TopicPartition Partition), Entry> _offsets = new();
    private readonly SemaphoreSlim[] _writers;

    private OffsetStore(CommitLog log, TimeProvider time, int partitions)
    {
        _log = log;
        _time = time;
        _partitions = partitions;
        _writers = new SemaphoreSlim[partitions];
        for (var i = 0; i < partitions; i++)
        {
            _writers[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>Offsets loaded at start-up plus those committed since.</summary>
    public int Count => _offsets.Count;

    /// <summary>Opens the store over <paramref name="log"/>, creating the topic on first use and loading every commit in it.</summary>
    public static OffsetStore Open(CommitLog log, GroupCoordinatorOptions options)
    {
        var partitions = log.GetPartitionCount(TopicName);
        if (partitions == 0)
        {
            var config = new TopicConfig { SegmentBytes = options.OffsetsSegmentBytes, RetentionTime = null, RetentionBytes = null };
            var created = log.CreateTopic(TopicName, options.OffsetsTopicPartitions, config);
            if (created is not (LogError.None or LogError.TopicAlreadyExists))
            {
                throw new InvalidOperationException($"Cannot create {TopicName}: {created}.");
            }

            partitions = log.GetPartitionCount(TopicName);
        }

        var store = new OffsetStore(log, options.TimeProvider, partitions);
        for (var p = 0; p < partitions; p++)
        {
            store.Load(p);
        }

        return store;
    }

    public bool TryGet(string group, TopicPartition partition, out CommittedOffset offset)
    {
        var found = _offsets.TryGetValue((group, partition), out var entry);
        offset = entry.Value;
        return found;
    }

    public List<KeyValuePair<TopicPartition, CommittedOffset>> GetAll(string group)
    {
        var all = new List<KeyValuePair<TopicPartition, CommittedOffset>>();
        foreach (var (key, entry) in _offsets)
        {
            if (key.Group == group)
            {
                all.Add(new(key.Partition, entry.Value));
            }
        }

        all.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return all;
    }

    /// <summary>Every committed offset of every group (for lag metrics).</summary>
    public IEnumerable<(string Group, TopicPartition Partition, long Offset)> All()
    {
        foreach (var (key, entry) in _offsets)
        {
            yield return (key.Group, key.Partition, entry.Value.Offset);
        }
    }

    /// <summary>Writes the commits as one batch and, once the log has it, makes them visible.</summary>
    public async ValueTask<GroupError> CommitAsync(string group, IReadOnlyList<OffsetCommit> commits)
    {
        if (commits.Count == 0)
        {
            return GroupError.None;
        }

        var partition = PartitionFor(group);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var writer = _writers[partition];
        await writer.WaitAsync().ConfigureAwait(false);
        try
        {
            using var builder = new RecordBatchBuilder();
            var values = new CommittedOffset[commits.Count];
            for (var i = 0; i < commits.Count; i++)
            {
                values[i] = new CommittedOffset(commits[i].Offset, commits[i].Metadata ?? string.Empty, now);
                builder.Add(OffsetRecordCodec.EncodeKey(group, commits[i].Partition), OffsetRecordCodec.EncodeValue(values[i]), now);
            }

            var result = await _log.AppendAsync(TopicName, partition, builder.Build()).ConfigureAwait(false);
            if (result.Error != LogError.None)
            {
                return GroupError.StorageError;
            }

            for (var i = 0; i < commits.Count; i++)
            {
                _offsets[(group, commits[i].Partition)] = new Entry(values[i], result.BaseOffset + i, partition);
            }

            if (_log.TryGet(TopicName, partition, out var partitionLog) && partitionLog.Segments.Count >= 3)
            {
                await CompactLockedAsync(partition).ConfigureAwait(false);
            }

            return GroupError.None;
        }
        finally
        {
            writer.Release();
        }
    }

    /// <summary>Compacts one partition of the topic now; returns the number of segments deleted.</summary>
    public async ValueTask<int> CompactAsync(int partition)
    {
        await _writers[partition].WaitAsync().ConfigureAwait(false);
        try
        {
            return await CompactLockedAsync(partition).ConfigureAwait(false);
        }
        finally
        {
            _writers[partition].Release();
        }
    }

    public int PartitionFor(string group) => Murmur2Partitioner.Partition(Encoding.UTF8.GetBytes(group), _partitions);

    private async ValueTask<int> CompactLockedAsync(int partition)
    {
        if (!_log.TryGet(TopicName, partition, out var partitionLog))
        {
            return 0;
        }

        var segments = partitionLog.Segments;
        if (segments.Count < 2)
        {
            return 0;
        }

        // Every offset below the active segment's base is in a closed segment: carry the live ones forward.
        var cut = segments[^1].BaseOffset;
        var live = new List<KeyValuePair<(string Group, TopicPartition Partition), Entry>>();
        foreach (var pair in _offsets)
        {
            if (pair.Value.StorePartition == partition && pair.Value.LogOffset < cut)
            {
                live.Add(pair);
            }
        }

        using var builder = new RecordBatchBuilder();
        var start = 0;
        for (var i = 0; i <= live.Count; i++)
        {
            if (i == live.Count || builder.SizeInBytes >= 256 * 1024)
            {
                if (builder.Count > 0)
                {
                    var result = await _log.AppendAsync(TopicName, partition, builder.Build()).ConfigureAwait(false);
                    if (result.Error != LogError.None)
                    {
                        return 0;
                    }

                    for (var j = start; j < i; j++)
                    {
                        _offsets[live[j].Key] = live[j].Value with { LogOffset = result.BaseOffset + (j - start) };
                    }

                    builder.Reset();
                    start = i;
                }

                if (i == live.Count)
                {
                    break;
                }
            }

            var (key, entry) = (live[i].Key, live[i].Value);
            builder.Add(OffsetRecordCodec.EncodeKey(key.Group, key.Partition), OffsetRecordCodec.EncodeValue(entry.Value), entry.Value.CommitTimestamp);
        }

        return partitionLog.DeleteSegmentsBefore(cut);
    }

    private void Load(int partition)
    {
        var offset = _log.GetOffsets(TopicName, partition).LogStartOffset;
        while (true)
        {
            var read = _log.Read(TopicName, partition, offset, ReadBytes);
            if (read.Error != LogError.None || read.Records.Length == 0)
            {
                return;
            }

            var records = RecordBatchReader.ReadAll(read.Records.ToArray());
            if (records.Count == 0)
            {
                return;
            }

            foreach (var record in records)
            {
                if (record.Offset < offset || record.Key is not { } key
                    || !OffsetRecordCodec.TryDecodeKey(key.Span, out var group, out var topicPartition))
                {
                    continue;
                }

                if (record.Value is not { } value)
                {
                    _offsets.TryRemove((group, topicPartition), out _);
                }
                else if (OffsetRecordCodec.TryDecodeValue(value.Span, out var committed))
                {
                    _offsets[(group, topicPartition)] = new Entry(committed, record.Offset, partition);
                }
            }

            offset = records[^1].Offset + 1;
        }
    }

    private readonly record struct Entry(CommittedOffset Value, long LogOffset, int StorePartition);
}

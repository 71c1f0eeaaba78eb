using DataPlane.Log.Records;

namespace DataPlane.Log.Producer;

/// <summary>
/// An embedded producer for one topic: places each record by key with <see cref="Murmur2Partitioner"/> (the
/// Java client's placement; keyless records stick to one random partition per batch, as Kafka's sticky
/// partitioner does), gathers records per partition into batches and appends a batch once it reaches
/// <c>batchBytes</c> or on <see cref="FlushAsync"/>.
/// </summary>
public sealed class LogProducer : IAsyncDisposable
{
    private readonly CommitLog _log;
    private readonly string _topic;
    private readonly int _batchBytes;
    private readonly Random _random;
    private readonly RecordBatchBuilder[] _builders;
    private int _sticky = -1;

    /// <summary>Creates a producer for <paramref name="topic"/>, which must exist.</summary>
    /// <param name="log">The log to append to.</param>
    /// <param name="topic">The topic.</param>
    /// <param name="batchBytes">A partition's batch is appended once its records reach this size (Kafka's <c>batch.size</c>, default 16 KiB).</param>
    /// <param name="codec"><see cref="CompressionCodec.None"/> or <see cref="CompressionCodec.Gzip"/>.</param>
    /// <param name="random">Picks the partition of keyless records; a seeded one makes placement repeatable.</param>
    public LogProducer(CommitLog log, string topic, int batchBytes = 16 * 1024, CompressionCodec codec = CompressionCodec.None, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        var partitions = log.GetPartitionCount(topic);
        if (partitions == 0)
        {
            throw new ArgumentException($"No topic '{topic}' in the log.", nameof(topic));
        }

        _log = log;
        _topic = topic;
        _batchBytes = batchBytes;
        _random = random ?? Random.Shared;
        _builders = new RecordBatchBuilder[partitions];
        for (var i = 0; i < partitions; i++)
        {
            _builders[i] = new RecordBatchBuilder(codec, batchBytes + 1024);
        }
    }

    /// <summary>The partition a key goes to.</summary>
    /// <param name="key">The key's bytes.</param>
    public int PartitionFor(ReadOnlySpan<byte> key) => Murmur2Partitioner.Partition(key, _builders.Length);

    /// <summary>Adds a record to its partition's batch, appending the batch if it is full.</summary>
    /// <param name="key">The key, which picks the partition; <see langword="null"/> for none.</param>
    /// <param name="value">The value; <see langword="null"/> for a tombstone.</param>
    /// <param name="timestamp">Create time in milliseconds since the Unix epoch.</param>
    /// <param name="headers">The record's headers, if any.</param>
    /// <returns>The partition the record went to.</returns>
    /// <exception cref="LogAppendException">The log refused the full batch.</exception>
    public async ValueTask<int> AddAsync(ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value, long timestamp, LogHeader[]? headers = null)
    {
        int partition;
        if (key is { } k)
        {
            partition = PartitionFor(k.Span);
        }
        else
        {
            if (_sticky < 0)
            {
                _sticky = _random.Next(_builders.Length);
            }

            partition = _sticky;
        }

        var builder = _builders[partition];
        builder.Add(key, value, timestamp, headers);
        if (builder.SizeInBytes >= _batchBytes)
        {
            await SendAsync(partition).ConfigureAwait(false);
        }

        return partition;
    }

    /// <summary>Appends every partition's open batch.</summary>
    /// <exception cref="LogAppendException">The log refused a batch.</exception>
    public async ValueTask FlushAsync()
    {
        for (var i = 0; i < _builders.Length; i++)
        {
            if (_builders[i].Count > 0)
            {
                await SendAsync(i).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Flushes open batches and returns the builders' buffers.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            foreach (var builder in _builders)
            {
                builder.Dispose();
            }
        }
    }

    private async ValueTask SendAsync(int partition)
    {
        var builder = _builders[partition];
        var result = await _log.AppendAsync(_topic, partition, builder.Build()).ConfigureAwait(false);
        builder.Reset();
        if (partition == _sticky)
        {
            _sticky = -1;
        }

        if (result.Error != LogError.None)
        {
            throw new LogAppendException(_topic, partition, result);
        }
    }
}

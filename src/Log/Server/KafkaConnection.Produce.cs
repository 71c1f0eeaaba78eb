using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

internal sealed partial class KafkaConnection
{
    private const short UnsupportedVersion = 35;

    /// <summary>InitProducerId v0-1: a new producer id at epoch 0 for an idempotent producer.</summary>
    private void InitProducerId(ref KafkaReader reader)
    {
        reader.NullableString();
        reader.Int32();
        _writer.Int32(0);
        _writer.Int16(0);
        _writer.Int64(_server.Sequences.NewProducerId());
        _writer.Int16(0);
    }

    /// <summary>Appends unless the batch is a retry of one already appended (answered with its offset) or out of sequence.</summary>
    private async Task<AppendResult> AppendAsync(string topic, int partition, ReadOnlyMemory<byte> batches)
    {
        if (_server.Sequences.Check(topic, partition, batches.Span) is { } known)
        {
            return known;
        }

        var result = await _server.Log.AppendAsync(topic, partition, batches).ConfigureAwait(false);
        if (result.Error == LogError.None)
        {
            _server.Sequences.Appended(topic, partition, batches.Span, result.BaseOffset);
        }

        return result;
    }

    /// <summary>Produce v3-8: every partition's batches appended as sent; acks 0 gets no response.</summary>
    private async ValueTask<bool> ProduceAsync(short version, KafkaReader reader)
    {
        reader.NullableString();
        var acks = reader.Int16();
        reader.Int32();
        var topicCount = reader.ArrayLength();
        var topics = new (string Name, (int Partition, Task<AppendResult> Append)[] Partitions)[Math.Max(topicCount, 0)];
        var appended = false;
        for (var t = 0; t < topics.Length; t++)
        {
            var name = reader.String();
            var partitions = new (int, Task<AppendResult>)[Math.Max(reader.ArrayLength(), 0)];
            for (var p = 0; p < partitions.Length; p++)
            {
                var index = reader.Int32();
                var records = reader.NullableBytes();
                partitions[p] = (index, version < 3 ? Task.FromResult(AppendResult.Failed((LogError)UnsupportedVersion))
                    : records is not { Length: > 0 } batches ? Task.FromResult(AppendResult.Failed(LogError.CorruptMessage))
                    : AppendAsync(name, index, batches));
            }

            topics[t] = (name, partitions);
        }

        _writer.Int32(topics.Length);
        foreach (var (name, partitions) in topics)
        {
            _writer.String(name);
            _writer.Int32(partitions.Length);
            foreach (var (index, append) in partitions)
            {
                var result = await append.ConfigureAwait(false);
                appended |= result.Error == LogError.None;
                _writer.Int32(index);
                _writer.ErrorCode((short)result.Error);
                _writer.Int64(result.BaseOffset);
                if (version >= 2)
                {
                    _writer.Int64(-1);
                }

                if (version >= 5)
                {
                    _writer.Int64(result.LogStartOffset);
                }

                if (version >= 8)
                {
                    _writer.Int32(0);
                    _writer.NullableString(result.Error == LogError.None ? null : result.Error.ToString());
                }
            }
        }

        if (version >= 1)
        {
            _writer.Int32(0);
        }

        if (appended)
        {
            _server.Appends.Signal();
        }

        return acks != 0;
    }
}

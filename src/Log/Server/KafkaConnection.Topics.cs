using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

internal sealed partial class KafkaConnection
{
    private const int NodeId = 0;
    private const string ClusterId = "dataplane";

    /// <summary>Metadata v0-8: this broker as leader of every partition; unknown topics auto-created when allowed.</summary>
    private void Metadata(short version, ref KafkaReader reader)
    {
        var count = reader.ArrayLength();
        List<string>? requested = null;
        if (count > 0)
        {
            requested = new List<string>(count);
            for (var i = 0; i < count; i++)
            {
                requested.Add(reader.String());
            }
        }

        var allowCreate = version < 4 || reader.Boolean();
        var log = _server.Log;
        var names = count < 0 || (count == 0 && version == 0) ? [.. log.Topics] : requested ?? [];
        if (version >= 3)
        {
            _writer.Int32(0);
        }

        _writer.Int32(1);
        _writer.Int32(NodeId);
        _writer.String(_server.AdvertisedHost);
        _writer.Int32(_server.AdvertisedPort);
        if (version >= 1)
        {
            _writer.NullableString(null);
        }

        if (version >= 2)
        {
            _writer.NullableString(ClusterId);
        }

        if (version >= 1)
        {
            _writer.Int32(NodeId);
        }

        _writer.Int32(names.Count);
        foreach (var name in names)
        {
            var partitions = log.GetPartitionCount(name);
            var error = LogError.None;
            if (partitions == 0)
            {
                error = allowCreate && _server.Options.AutoCreateTopics
                    ? log.CreateTopic(name, _server.Options.DefaultPartitions)
                    : LogError.UnknownTopicOrPartition;
                error = error == LogError.TopicAlreadyExists ? LogError.None : error;
                partitions = log.GetPartitionCount(name);
            }

            WriteTopicMetadata(version, name, error, partitions);
        }

        if (version >= 8)
        {
            _writer.Int32(int.MinValue);
        }
    }

    private void WriteTopicMetadata(short version, string name, LogError error, int partitions)
    {
        _writer.ErrorCode((short)error);
        _writer.String(name);
        if (version >= 1)
        {
            _writer.Boolean(name.StartsWith("__", StringComparison.Ordinal));
        }

        _writer.Int32(partitions);
        for (var p = 0; p < partitions; p++)
        {
            _writer.Int16(0);
            _writer.Int32(p);
            _writer.Int32(NodeId);
            if (version >= 7)
            {
                _writer.Int32(0);
            }

            _writer.Int32(1);
            _writer.Int32(NodeId);
            _writer.Int32(1);
            _writer.Int32(NodeId);
            if (version >= 5)
            {
                _writer.Int32(0);
            }
        }

        if (version >= 8)
        {
            _writer.Int32(int.MinValue);
        }
    }

    /// <summary>ListOffsets v1-5: earliest (-2), latest (-1), or the first offset at or after a timestamp.</summary>
    private void ListOffsets(short version, ref KafkaReader reader)
    {
        reader.Int32();
        if (version >= 2)
        {
            reader.Int8();
            _writer.Int32(0);
        }

        var topics = reader.ArrayLength();
        _writer.Int32(Math.Max(topics, 0));
        for (var t = 0; t < topics; t++)
        {
            var name = reader.String();
            _writer.String(name);
            var partitions = reader.ArrayLength();
            _writer.Int32(Math.Max(partitions, 0));
            for (var p = 0; p < partitions; p++)
            {
                var index = reader.Int32();
                if (version >= 4)
                {
                    reader.Int32();
                }

                var timestamp = reader.Int64();
                var offsets = _server.Log.GetOffsets(name, index);
                var found = timestamp switch
                {
                    -1 => new TimestampOffset(offsets.Error, offsets.HighWatermark, -1),
                    -2 => new TimestampOffset(offsets.Error, offsets.LogStartOffset, -1),
                    _ => _server.Log.FindOffset(name, index, timestamp),
                };
                _writer.Int32(index);
                _writer.ErrorCode((short)found.Error);
                _writer.Int64(found.Timestamp);
                _writer.Int64(found.Offset);
                if (version >= 4)
                {
                    _writer.Int32(0);
                }
            }
        }
    }

    /// <summary>
    /// CreateTopics v0-4: partition count (or -1 for the default) and topic configs over the broker's defaults (an
    /// unknown or invalid one fails that topic with INVALID_CONFIG); replication and assignments are ignored on one broker.
    /// </summary>
    private void CreateTopics(short version, ref KafkaReader reader)
    {
        var count = Math.Max(reader.ArrayLength(), 0);
        var topics = new (string Name, int Partitions, TopicConfig? Config, string? Problem)[count];
        for (var i = 0; i < count; i++)
        {
            var name = reader.String();
            var partitions = reader.Int32();
            reader.Int16();
            var assignments = reader.ArrayLength();
            for (var a = 0; a < assignments; a++)
            {
                reader.Int32();
                var brokers = reader.ArrayLength();
                for (var b = 0; b < brokers; b++)
                {
                    reader.Int32();
                }
            }

            var configCount = reader.ArrayLength();
            var configs = new List<(string Key, string? Value)>(Math.Max(configCount, 0));
            for (var c = 0; c < configCount; c++)
            {
                configs.Add((reader.String(), reader.NullableString()));
            }

            var problem = TopicConfigs.TryApply(_server.Options.Log.DefaultTopicConfig, configs, out var config);
            topics[i] = (name, partitions == -1 ? _server.Options.DefaultPartitions : partitions, problem is null ? config : null, problem);
        }

        reader.Int32();
        var validateOnly = version >= 1 && reader.Boolean();
        if (version >= 2)
        {
            _writer.Int32(0);
        }

        _writer.Int32(count);
        foreach (var (name, partitions, config, problem) in topics)
        {
            var error = config is null ? LogError.InvalidConfig
                : validateOnly
                    ? (_server.Log.GetPartitionCount(name) > 0 ? LogError.TopicAlreadyExists : partitions < 1 ? LogError.InvalidPartitions : LogError.None)
                    : _server.Log.CreateTopic(name, partitions, config);
            _writer.String(name);
            _writer.ErrorCode((short)error);
            if (version >= 1)
            {
                _writer.NullableString(error == LogError.None ? null : problem ?? error.ToString());
            }
        }
    }
}

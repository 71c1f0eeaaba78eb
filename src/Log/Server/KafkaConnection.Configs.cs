using DataPlane.Log.Protocol.Kafka;

namespace DataPlane.Log.Server;

internal sealed partial class KafkaConnection
{
    private const sbyte TopicResource = 2;
    private const sbyte TopicConfigSource = 1;
    private const sbyte DefaultConfigSource = 5;
    private const sbyte StringConfigType = 2;
    private const sbyte LongConfigType = 5;

    /// <summary>DescribeConfigs v0-3: a topic's configs (the broker's topic config), filtered by the keys asked for.</summary>
    private void DescribeConfigs(short version, ref KafkaReader reader)
    {
        var resources = new (sbyte Type, string Name, HashSet<string>? Keys)[Math.Max(reader.ArrayLength(), 0)];
        for (var i = 0; i < resources.Length; i++)
        {
            var type = reader.Int8();
            var name = reader.String();
            var count = reader.ArrayLength();
            HashSet<string>? keys = count < 0 ? null : new HashSet<string>(StringComparer.Ordinal);
            for (var k = 0; k < count; k++)
            {
                keys!.Add(reader.String());
            }

            resources[i] = (type, name, keys);
        }

        _writer.Int32(0);
        _writer.Int32(resources.Length);
        foreach (var (type, name, keys) in resources)
        {
            var known = type != TopicResource || _server.Log.GetPartitionCount(name) > 0;
            _writer.ErrorCode(known ? (short)0 : (short)LogError.UnknownTopicOrPartition);
            _writer.NullableString(known ? null : $"Topic '{name}' does not exist.");
            _writer.Int8(type);
            _writer.String(name);
            var configs = type == TopicResource && known && _server.Log.TryGet(name, 0, out var partition)
                ? TopicConfigs.Describe(partition.Config).FindAll(c => keys is null || keys.Contains(c.Key))
                : [];
            var defaults = TopicConfigs.Describe(_server.Options.Log.DefaultTopicConfig);
            _writer.Int32(configs.Count);
            foreach (var (key, value) in configs)
            {
                var isDefault = defaults.Contains((key, value));
                _writer.String(key);
                _writer.NullableString(value);
                _writer.Boolean(false);
                if (version == 0)
                {
                    _writer.Boolean(isDefault);
                }
                else
                {
                    _writer.Int8(isDefault ? DefaultConfigSource : TopicConfigSource);
                }

                _writer.Boolean(false);
                if (version >= 1)
                {
                    _writer.Int32(0);
                }

                if (version >= 3)
                {
                    _writer.Int8(key == "cleanup.policy" ? StringConfigType : LongConfigType);
                    _writer.NullableString(null);
                }
            }
        }
    }
}

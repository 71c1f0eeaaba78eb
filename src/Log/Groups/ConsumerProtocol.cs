using System.Buffers.Binary;
using System.Text;

namespace DataPlane.Log.Groups;

/// <summary>
/// Kafka's consumer protocol bytes, which JoinGroup and SyncGroup carry opaquely: ConsumerProtocolSubscription v1
/// (int16 version, topics, nullable user data, owned partitions) and ConsumerProtocolAssignment v0 (int16 version,
/// assigned partitions, nullable user data). Strings are int16 length + UTF-8, arrays int32 count.
/// </summary>
public static class ConsumerProtocol
{
    /// <summary>Encodes a subscription.</summary>
    /// <param name="topics">The subscribed topics.</param>
    /// <param name="ownedPartitions">What the member consumes now (cooperative assignors keep it where they can).</param>
    public static byte[] EncodeSubscription(IReadOnlyCollection<string> topics, IReadOnlyCollection<TopicPartition> ownedPartitions)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(ownedPartitions);
        using var stream = new MemoryStream();
        WriteInt16(stream, 1);
        WriteInt32(stream, topics.Count);
        foreach (var topic in topics)
        {
            WriteString(stream, topic);
        }

        WriteInt32(stream, -1);
        WritePartitions(stream, ownedPartitions);
        return stream.ToArray();
    }

    /// <summary>Decodes a subscription of version 0 or later (fields of later versions are ignored).</summary>
    /// <param name="bytes">The member's protocol metadata.</param>
    /// <param name="topics">The subscribed topics.</param>
    /// <param name="ownedPartitions">The owned partitions (empty before version 1).</param>
    /// <returns>False when the bytes are not a subscription.</returns>
    public static bool TryDecodeSubscription(ReadOnlySpan<byte> bytes, out List<string> topics, out List<TopicPartition> ownedPartitions)
    {
        topics = [];
        ownedPartitions = [];
        var p = 0;
        if (!TryReadInt16(bytes, ref p, out var version) || version < 0 || !TryReadInt32(bytes, ref p, out var count) || count < 0)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!TryReadString(bytes, ref p, out var topic))
            {
                return false;
            }

            topics.Add(topic);
        }

        if (!TrySkipBytes(bytes, ref p))
        {
            return false;
        }

        return version < 1 || TryReadPartitions(bytes, ref p, ownedPartitions);
    }

    /// <summary>Encodes an assignment.</summary>
    /// <param name="partitions">The partitions assigned to the member.</param>
    public static byte[] EncodeAssignment(IReadOnlyCollection<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        using var stream = new MemoryStream();
        WriteInt16(stream, 0);
        WritePartitions(stream, partitions);
        WriteInt32(stream, -1);
        return stream.ToArray();
    }

    /// <summary>Decodes an assignment; an empty input is an empty assignment (what Kafka sends a member the leader left out).</summary>
    /// <param name="bytes">The SyncGroup assignment.</param>
    /// <param name="partitions">The assigned partitions.</param>
    /// <returns>False when the bytes are not an assignment.</returns>
    public static bool TryDecodeAssignment(ReadOnlySpan<byte> bytes, out List<TopicPartition> partitions)
    {
        partitions = [];
        var p = 0;
        return bytes.Length == 0
            || (TryReadInt16(bytes, ref p, out var version) && version >= 0 && TryReadPartitions(bytes, ref p, partitions));
    }

    private static void WritePartitions(MemoryStream stream, IReadOnlyCollection<TopicPartition> partitions)
    {
        var byTopic = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var tp in partitions)
        {
            if (!byTopic.TryGetValue(tp.Topic, out var list))
            {
                byTopic[tp.Topic] = list = [];
            }

            list.Add(tp.Partition);
        }

        WriteInt32(stream, byTopic.Count);
        foreach (var (topic, list) in byTopic)
        {
            WriteString(stream, topic);
            list.Sort();
            WriteInt32(stream, list.Count);
            foreach (var partition in list)
            {
                WriteInt32(stream, partition);
            }
        }
    }

    private static bool TryReadPartitions(ReadOnlySpan<byte> bytes, ref int p, List<TopicPartition> partitions)
    {
        if (!TryReadInt32(bytes, ref p, out var topics) || topics < 0)
        {
            return false;
        }

        for (var t = 0; t < topics; t++)
        {
            if (!TryReadString(bytes, ref p, out var topic) || !TryReadInt32(bytes, ref p, out var count) || count < 0 || count > (bytes.Length - p) / 4)
            {
                return false;
            }

            for (var i = 0; i < count; i++)
            {
                TryReadInt32(bytes, ref p, out var partition);
                partitions.Add(new TopicPartition(topic, partition));
            }
        }

        return true;
    }

    private static void WriteInt16(MemoryStream stream, short value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        stream.Write(bytes);
    }

    private static void WriteInt32(MemoryStream stream, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        stream.Write(bytes);
    }

    private static void WriteString(MemoryStream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteInt16(stream, checked((short)bytes.Length));
        stream.Write(bytes);
    }

    private static bool TryReadInt16(ReadOnlySpan<byte> bytes, ref int p, out short value)
    {
        value = 0;
        if (bytes.Length - p < 2)
        {
            return false;
        }

        value = BinaryPrimitives.ReadInt16BigEndian(bytes[p..]);
        p += 2;
        return true;
    }

    private static bool TryReadInt32(ReadOnlySpan<byte> bytes, ref int p, out int value)
    {
        value = 0;
        if (bytes.Length - p < 4)
        {
            return false;
        }

        value = BinaryPrimitives.ReadInt32BigEndian(bytes[p..]);
        p += 4;
        return true;
    }

    private static bool TryReadString(ReadOnlySpan<byte> bytes, ref int p, out string value)
    {
        value = string.Empty;
        if (!TryReadInt16(bytes, ref p, out var length) || length < 0 || bytes.Length - p < length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(bytes.Slice(p, length));
        p += length;
        return true;
    }

    private static bool TrySkipBytes(ReadOnlySpan<byte> bytes, ref int p)
    {
        if (!TryReadInt32(bytes, ref p, out var length) || length < -1 || bytes.Length - p < length)
        {
            return false;
        }

        p += Math.Max(length, 0);
        return true;
    }
}

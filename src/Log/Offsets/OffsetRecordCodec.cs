using System.Buffers.Binary;
using System.Text;
using DataPlane.Log.Groups;

namespace DataPlane.Log.Offsets;

/// <summary>
/// The records of <c>__consumer_offsets</c>, laid out as Kafka lays out its own: key OffsetCommitKey v1
/// (int16 version, string group, string topic, int32 partition), value OffsetCommitValue v3 (int16 version,
/// int64 offset, int32 leader epoch, string metadata, int64 commit timestamp); strings are int16 length + UTF-8.
/// </summary>
internal static class OffsetRecordCodec
{
    private const short KeyVersion = 1;
    private const short ValueVersion = 3;

    public static byte[] EncodeKey(string group, TopicPartition partition)
    {
        var bytes = new byte[2 + StringSize(group) + StringSize(partition.Topic) + 4];
        var p = 0;
        BinaryPrimitives.WriteInt16BigEndian(bytes, KeyVersion);
        p += 2;
        WriteString(bytes, ref p, group);
        WriteString(bytes, ref p, partition.Topic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(p), partition.Partition);
        return bytes;
    }

    public static byte[] EncodeValue(CommittedOffset value)
    {
        var bytes = new byte[2 + 8 + 4 + StringSize(value.Metadata) + 8];
        var p = 0;
        BinaryPrimitives.WriteInt16BigEndian(bytes, ValueVersion);
        p += 2;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(p), value.Offset);
        p += 8;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(p), -1);
        p += 4;
        WriteString(bytes, ref p, value.Metadata);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(p), value.CommitTimestamp);
        return bytes;
    }

    /// <summary>Decodes a key; false for a key of another kind (Kafka's group metadata records use versions 2 and up).</summary>
    public static bool TryDecodeKey(ReadOnlySpan<byte> bytes, out string group, out TopicPartition partition)
    {
        group = string.Empty;
        partition = default;
        var p = 2;
        if (bytes.Length < 2 || BinaryPrimitives.ReadInt16BigEndian(bytes) is not (0 or 1)
            || !TryReadString(bytes, ref p, out group) || !TryReadString(bytes, ref p, out var topic) || bytes.Length - p < 4)
        {
            return false;
        }

        partition = new TopicPartition(topic, BinaryPrimitives.ReadInt32BigEndian(bytes[p..]));
        return true;
    }

    public static bool TryDecodeValue(ReadOnlySpan<byte> bytes, out CommittedOffset value)
    {
        value = default;
        var p = 14;
        if (bytes.Length < 14 || BinaryPrimitives.ReadInt16BigEndian(bytes) != ValueVersion
            || !TryReadString(bytes, ref p, out var metadata) || bytes.Length - p < 8)
        {
            return false;
        }

        value = new CommittedOffset(BinaryPrimitives.ReadInt64BigEndian(bytes[2..]), metadata, BinaryPrimitives.ReadInt64BigEndian(bytes[p..]));
        return true;
    }

    private static int StringSize(string s) => 2 + Encoding.UTF8.GetByteCount(s);

    private static void WriteString(Span<byte> bytes, ref int p, string s)
    {
        var length = Encoding.UTF8.GetBytes(s, bytes[(p + 2)..]);
        BinaryPrimitives.WriteInt16BigEndian(bytes[p..], checked((short)length));
        p += 2 + length;
    }

    private static bool TryReadString(ReadOnlySpan<byte> bytes, ref int p, out string s)
    {
        s = string.Empty;
        if (bytes.Length - p < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt16BigEndian(bytes[p..]);
        if (length < 0 || bytes.Length - p - 2 < length)
        {
            return false;
        }

        s = Encoding.UTF8.GetString(bytes.Slice(p + 2, length));
        p += 2 + length;
        return true;
    }
}

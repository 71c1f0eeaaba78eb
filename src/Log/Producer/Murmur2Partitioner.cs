namespace DataPlane.Log.Producer;

/// <summary>
/// The key partitioner of Kafka's Java producer (librdkafka's <c>murmur2_random</c>): MurmurHash2 with Kafka's
/// seed, made positive by masking the sign bit, modulo the partition count. Embedded and wire producers using
/// it place a key on the same partition.
/// </summary>
public static class Murmur2Partitioner
{
    /// <summary>The partition for <paramref name="key"/> among <paramref name="partitionCount"/>.</summary>
    /// <param name="key">The record key's bytes.</param>
    /// <param name="partitionCount">The topic's partition count (at least 1).</param>
    public static int Partition(ReadOnlySpan<byte> key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return (Hash(key) & 0x7FFFFFFF) % partitionCount;
    }

    /// <summary>Kafka's <c>Utils.murmur2</c>: 32-bit MurmurHash2, seed <c>0x9747b28c</c>, little-endian words.</summary>
    /// <param name="data">The bytes to hash.</param>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = 0x9747b28cu ^ (uint)length;
        var words = length / 4;
        for (var i = 0; i < words; i++)
        {
            var k = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[(i * 4)..]);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        var tail = length & ~3;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= m;
                break;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                h ^= data[tail];
                h *= m;
                break;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }
}

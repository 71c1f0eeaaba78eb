using System.Buffers.Binary;
using System.Text;

namespace DataPlane.Log.Protocol.Kafka;

/// <summary>Reads Kafka's primitive types from one request body; any overrun is a <see cref="KafkaProtocolException"/>.</summary>
internal struct KafkaReader(ReadOnlyMemory<byte> buffer)
{
    private readonly ReadOnlyMemory<byte> _buffer = buffer;
    private int _position;

    public readonly int Remaining => _buffer.Length - _position;

    public sbyte Int8() => (sbyte)Take(1)[0];

    public bool Boolean() => Take(1)[0] != 0;

    public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public string String() => NullableString() ?? throw new KafkaProtocolException("A non-nullable string is null.");

    public string? NullableString()
    {
        var length = Int16();
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>Nullable bytes (INT32 length) as a slice of the request, not copied.</summary>
    public ReadOnlyMemory<byte>? NullableBytes()
    {
        var length = Int32();
        if (length < 0)
        {
            return null;
        }

        Check(length);
        var slice = _buffer.Slice(_position, length);
        _position += length;
        return slice;
    }

    public ReadOnlyMemory<byte> Bytes() => NullableBytes() ?? ReadOnlyMemory<byte>.Empty;

    /// <summary>An array length: -1 for null; bounded by the bytes left so a bad length allocates nothing large.</summary>
    public int ArrayLength()
    {
        var length = Int32();
        if (length > Remaining)
        {
            throw new KafkaProtocolException($"An array claims {length} elements with {Remaining} bytes left.");
        }

        return length;
    }

    public uint UnsignedVarint()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = Take(1)[0];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new KafkaProtocolException("A varint is longer than 5 bytes.");
    }

    public void SkipTaggedFields()
    {
        var count = UnsignedVarint();
        for (var i = 0u; i < count; i++)
        {
            UnsignedVarint();
            var size = UnsignedVarint();
            Take(checked((int)size));
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        Check(count);
        var span = _buffer.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    private readonly void Check(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw new KafkaProtocolException($"The request ends early: {count} bytes wanted, {Remaining} left.");
        }
    }
}

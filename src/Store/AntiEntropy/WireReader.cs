using System.Buffers.Binary;

namespace DataPlane.Store.AntiEntropy;

/// <summary>
/// Reads an anti-entropy payload front to back. Every read is checked against what is left, and a
/// count is checked against the smallest size of its entries before anything is allocated for it,
/// so a malformed frame throws <see cref="InvalidDataException"/> (which closes the connection).
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> _payload = payload;
    private int _position;

    public readonly bool End => _position == _payload.Length;

    public byte U8() => Take(1)[0];

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>A u32 count of entries of at least <paramref name="minEntrySize"/> bytes each, checked against what is left.</summary>
    public int Count(int minEntrySize)
    {
        var count = U32();
        if (count > (uint)((_payload.Length - _position) / minEntrySize))
        {
            throw new InvalidDataException($"anti-entropy frame announces {count} entries, more than it holds");
        }

        return (int)count;
    }

    /// <summary>A u32 length, then that many bytes.</summary>
    public ReadOnlySpan<byte> Sized() => Take(checked((int)Math.Min(U32(), int.MaxValue)));

    /// <summary>A value below <paramref name="limit"/> (a partition, branch or leaf number).</summary>
    public static int Below(uint value, int limit, string what) =>
        value < (uint)limit ? (int)value : throw new InvalidDataException($"anti-entropy frame names {what} {value}, not below {limit}");

    public readonly void ExpectEnd()
    {
        if (!End)
        {
            throw new InvalidDataException("anti-entropy frame has trailing bytes");
        }
    }

    private ReadOnlySpan<byte> Take(int length)
    {
        if (length > _payload.Length - _position)
        {
            throw new InvalidDataException("anti-entropy frame is shorter than its contents");
        }

        var span = _payload.Slice(_position, length);
        _position += length;
        return span;
    }
}

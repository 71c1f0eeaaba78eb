using System.Buffers.Binary;

namespace DataPlane.Store.Hints;

/// <summary>
/// One hint on disk: [u32 body length][u32 CRC-32C of the body][body = u32 key length, key, stored value].
/// A torn or corrupt tail record (a crash mid-append) ends the file: the write it held was never
/// acknowledged by this node.
/// </summary>
internal static class HintRecord
{
    public const int HeaderSize = 8;

    /// <summary>The smallest body that holds a key length and a stored value's header.</summary>
    public const int MinBodySize = 4 + Replica.StoredValue.HeaderSize;

    public static int Size(int keyLength, int storedLength) => HeaderSize + 4 + keyLength + storedLength;

    /// <summary>Writes the record of <paramref name="key"/> and <paramref name="stored"/> at the start of <paramref name="destination"/> (<see cref="Size"/> bytes).</summary>
    public static void Write(Span<byte> destination, ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        var body = destination.Slice(HeaderSize, 4 + key.Length + stored.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(body, (uint)key.Length);
        key.CopyTo(body[4..]);
        stored.CopyTo(body[(4 + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Durability.Crc32C.Compute(body));
    }
}

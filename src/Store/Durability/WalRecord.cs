using System.Buffers.Binary;

namespace DataPlane.Store.Durability;

/// <summary>
/// One write-ahead log record: <c>length:u32 crc32c:u32 | keyLength:i32 key value</c>, where the CRC
/// covers what follows it and the value is a whole stored value (header and payload), so replaying a
/// record is the same merge that wrote it.
/// </summary>
internal static class WalRecord
{
    public const int FrameHeaderSize = 8;

    public static int Size(int keyLength, int valueLength) => FrameHeaderSize + 4 + keyLength + valueLength;

    public static void Write(Span<byte> destination, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var body = destination.Slice(FrameHeaderSize, 4 + key.Length + value.Length);
        BinaryPrimitives.WriteInt32LittleEndian(body, key.Length);
        key.CopyTo(body[4..]);
        value.CopyTo(body[(4 + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32C.Compute(body));
    }

    /// <summary>Reads the record at the start of <paramref name="data"/>; false when it is torn or damaged.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out int size)
    {
        key = value = default;
        size = 0;
        if (data.Length < FrameHeaderSize + 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (length < 4 || length > data.Length - FrameHeaderSize)
        {
            return false;
        }

        var body = data.Slice(FrameHeaderSize, (int)length);
        if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(data[4..]))
        {
            return false;
        }

        var keyLength = BinaryPrimitives.ReadInt32LittleEndian(body);
        if (keyLength < 0 || keyLength > body.Length - 4)
        {
            return false;
        }

        key = body.Slice(4, keyLength);
        value = body[(4 + keyLength)..];
        size = FrameHeaderSize + (int)length;
        return true;
    }
}

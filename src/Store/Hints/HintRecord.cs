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

    public static byte[] Encode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
    {
        var body = 4 + key.Length + stored.Length;
        var bytes = new byte[HeaderSize + body];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)key.Length);
        key.CopyTo(span[12..]);
        stored.CopyTo(span[(12 + key.Length)..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)body);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Durability.Crc32C.Compute(span[HeaderSize..]));
        return bytes;
    }

    /// <summary>Reads every whole, intact record of a hint file (key and stored value as one body each).</summary>
    public static IEnumerable<(byte[] Key, byte[] Stored)> ReadAll(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[HeaderSize];
        while (file.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) == HeaderSize)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length < 4 + Replica.StoredValue.HeaderSize || length > file.Length - file.Position)
            {
                yield break;
            }

            var body = new byte[length];
            file.ReadExactly(body);
            var keyLength = BinaryPrimitives.ReadUInt32LittleEndian(body);
            if (Durability.Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)) || keyLength > length - 4 - Replica.StoredValue.HeaderSize)
            {
                yield break;
            }

            yield return (body[4..(4 + (int)keyLength)], body[(4 + (int)keyLength)..]);
        }
    }
}

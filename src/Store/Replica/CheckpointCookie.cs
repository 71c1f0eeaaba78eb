using System.Buffers.Binary;

namespace DataPlane.Store.Replica;

/// <summary>
/// What a checkpoint records beside FASTER's state (in its commit cookie): the first write-ahead log
/// segment it does not cover, and the clock's high-water mark, so versions stay ahead after restart.
/// </summary>
internal readonly record struct CheckpointCookie(long FirstSegment, long ClockHighWater)
{
    private const int Size = 16;

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, FirstSegment);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), ClockHighWater);
        return bytes;
    }

    public static CheckpointCookie Parse(byte[]? bytes) =>
        bytes is { Length: Size }
            ? new CheckpointCookie(BinaryPrimitives.ReadInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)))
            : throw new InvalidDataException("The checkpoint has no DataPlane cookie: it was not written by this store.");
}

using System.Buffers.Binary;

namespace DataPlane.Store.Replica;

/// <summary>
/// The bytes FASTER holds for a key (and the write-ahead log and replication carry): a 24-byte header
/// (timestamp, node id, flags, expiry in Unix milliseconds, 0 for none) followed by the payload.
/// </summary>
internal static class StoredValue
{
    public const int HeaderSize = 24;
    private const int TombstoneFlag = 1;

    public static void WriteHeader(Span<byte> destination, ValueVersion version, bool tombstone, long expiresAtMs)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, version.Timestamp);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], version.NodeId);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], tombstone ? TombstoneFlag : 0);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], expiresAtMs);
    }

    public static ValueVersion Version(ReadOnlySpan<byte> value) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(value), BinaryPrimitives.ReadInt32LittleEndian(value[8..]));

    public static bool IsTombstone(ReadOnlySpan<byte> value) => (BinaryPrimitives.ReadInt32LittleEndian(value[12..]) & TombstoneFlag) != 0;

    public static long ExpiresAt(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt64LittleEndian(value[16..]);

    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> value) => value[HeaderSize..];

    /// <summary>The merge rule: <paramref name="candidate"/> replaces <paramref name="existing"/> only if its version is newer.</summary>
    public static bool IsNewer(ReadOnlySpan<byte> candidate, ReadOnlySpan<byte> existing) => Version(candidate) > Version(existing);

    /// <summary>Whether a value is visible to readers at <paramref name="nowMs"/>: not a tombstone and not expired.</summary>
    public static bool IsVisible(ReadOnlySpan<byte> value, long nowMs)
    {
        if (IsTombstone(value))
        {
            return false;
        }

        var expires = ExpiresAt(value);
        return expires == 0 || expires > nowMs;
    }

    /// <summary>Checks that bytes from the network or the log are long enough to be a stored value.</summary>
    public static bool IsWellFormed(ReadOnlySpan<byte> value) => value.Length >= HeaderSize;
}

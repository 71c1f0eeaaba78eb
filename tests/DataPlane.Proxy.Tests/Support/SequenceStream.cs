namespace DataPlane.Proxy.Tests.Support;

/// <summary>
/// An endless byte stream with a checkable order: 64-bit little-endian counters from a seed, so that a
/// byte lost, duplicated or reordered anywhere shows at the first byte after it. The seed (the first
/// counter) names the connection and the direction.
/// </summary>
internal static class SequenceStream
{
    public static ulong Seed(int connection, bool fromUpstream) => ((ulong)connection << 40) | (fromUpstream ? 1UL << 32 : 0);

    public static byte ByteAt(ulong seed, long position) => (byte)((seed + (ulong)(position >> 3)) >> (8 * (int)(position & 7)));

    /// <summary>Fills <paramref name="buffer"/> with the stream's bytes from <paramref name="position"/> on.</summary>
    public static void Fill(Span<byte> buffer, ulong seed, long position)
    {
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = ByteAt(seed, position + i);
        }
    }

    /// <summary>The position of the first byte of <paramref name="data"/> that is not the stream's from <paramref name="position"/> on; -1 when all are.</summary>
    public static long FirstMismatch(ReadOnlySpan<byte> data, ulong seed, long position)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] != ByteAt(seed, position + i))
            {
                return position + i;
            }
        }

        return -1;
    }
}

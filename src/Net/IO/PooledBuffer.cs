using System.Buffers;

namespace DataPlane.Net.IO;

/// <summary>A growing buffer rented from <see cref="ArrayPool{T}.Shared"/>, as the writers of batches and frames keep one.</summary>
public static class PooledBuffer
{
    /// <summary>
    /// Makes <paramref name="buffer"/> hold at least <paramref name="needed"/> bytes, keeping its first
    /// <paramref name="used"/>: a pooled buffer at least twice as large replaces it, and the old one goes back
    /// to the pool (an empty one, never rented, does not).
    /// </summary>
    public static void Grow(ref byte[] buffer, int used, int needed)
    {
        if (needed <= buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, needed));
        buffer.AsSpan(0, used).CopyTo(bigger);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        buffer = bigger;
    }
}

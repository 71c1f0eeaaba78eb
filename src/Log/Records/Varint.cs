namespace DataPlane.Log.Records;

/// <summary>Kafka's zig-zag varints (protobuf style), as record fields inside a RecordBatch v2 use them.</summary>
internal static class Varint
{
    /// <summary>Reads a zig-zag varint of at most 5 bytes; returns false on a truncated or overlong value.</summary>
    public static bool TryReadInt(ReadOnlySpan<byte> source, ref int position, out int value)
    {
        if (!TryReadLong(source, ref position, 5, out var raw))
        {
            value = 0;
            return false;
        }

        value = (int)raw;
        return true;
    }

    /// <summary>Reads a zig-zag varlong of at most 10 bytes; returns false on a truncated or overlong value.</summary>
    public static bool TryReadLong(ReadOnlySpan<byte> source, ref int position, out long value) =>
        TryReadLong(source, ref position, 10, out value);

    public static int SizeOf(long value)
    {
        var v = ZigZag(value);
        var size = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            size++;
        }

        return size;
    }

    public static int Write(Span<byte> destination, long value)
    {
        var v = ZigZag(value);
        var i = 0;
        while (v >= 0x80)
        {
            destination[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        destination[i++] = (byte)v;
        return i;
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private static bool TryReadLong(ReadOnlySpan<byte> source, ref int position, int maxBytes, out long value)
    {
        // Most record fields (attributes, deltas, short lengths) fit in one byte.
        if ((uint)position < (uint)source.Length && source[position] < 0x80)
        {
            var single = source[position++];
            value = (single >> 1) ^ -(single & 1);
            return true;
        }

        // Two bytes: lengths of 64-8191 bytes (a 100 B value, a record's own length) and offset deltas past 63.
        if ((uint)position + 1 < (uint)source.Length && source[position + 1] < 0x80)
        {
            var pair = (source[position] & 0x7F) | (source[position + 1] << 7);
            position += 2;
            value = (pair >> 1) ^ -(pair & 1);
            return true;
        }

        ulong raw = 0;
        var shift = 0;
        for (var i = 0; i < maxBytes; i++)
        {
            if (position >= source.Length)
            {
                break;
            }

            var b = source[position++];
            raw |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = (long)(raw >> 1) ^ -(long)(raw & 1);
                return true;
            }

            shift += 7;
        }

        value = 0;
        return false;
    }
}

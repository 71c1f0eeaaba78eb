namespace DataPlane.Log.Records;

/// <summary>
/// One record of a RecordBatch v2: <c>length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
/// key (varint length, -1 = null), value (same), header count varint, headers (key, value)</c>.
/// </summary>
internal static class RecordCodec
{
    /// <summary>Parses a record's bytes (without its leading length); false if any field runs past them.</summary>
    public static bool TryParse(ReadOnlySpan<byte> record, out RecordFields fields)
    {
        fields = default;
        var p = 1; // attributes: unused by v2 records
        if (record.IsEmpty
            || !Varint.TryReadLong(record, ref p, out fields.TimestampDelta)
            || !Varint.TryReadInt(record, ref p, out fields.OffsetDelta)
            || !TryReadBytes(record, ref p, out fields.KeyStart, out fields.KeyLength)
            || !TryReadBytes(record, ref p, out fields.ValueStart, out fields.ValueLength)
            || !Varint.TryReadInt(record, ref p, out fields.HeaderCount)
            || fields.HeaderCount < 0)
        {
            return false;
        }

        fields.HeadersStart = p;
        for (var i = 0; i < fields.HeaderCount; i++)
        {
            if (!TryReadBytes(record, ref p, out _, out var keyLength) || keyLength < 0
                || !TryReadBytes(record, ref p, out _, out _))
            {
                return false;
            }
        }

        return p == record.Length;
    }

    /// <summary>Reads a varint length and skips that many bytes; a length of -1 means null.</summary>
    public static bool TryReadBytes(ReadOnlySpan<byte> source, ref int position, out int start, out int length)
    {
        start = 0;
        if (!Varint.TryReadInt(source, ref position, out length) || length < -1 || length > source.Length - position)
        {
            return false;
        }

        start = position;
        position += Math.Max(length, 0);
        return true;
    }

    /// <summary>The bytes of a record's body (what its length varint counts).</summary>
    public static int BodySize(long timestampDelta, int offsetDelta, int keyLength, int valueLength, ReadOnlySpan<LogHeader> headers)
    {
        var size = 1 + Varint.SizeOf(timestampDelta) + Varint.SizeOf(offsetDelta)
            + BytesSize(keyLength) + BytesSize(valueLength) + Varint.SizeOf(headers.Length);
        foreach (var h in headers)
        {
            size += BytesSize(System.Text.Encoding.UTF8.GetByteCount(h.Key)) + BytesSize(h.Value is { } v ? v.Length : -1);
        }

        return size;
    }

    /// <summary>Writes a whole record, length first; returns the bytes written.</summary>
    public static int Write(
        Span<byte> destination, int bodySize, long timestampDelta, int offsetDelta,
        ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, ReadOnlySpan<LogHeader> headers)
    {
        var p = Varint.Write(destination, bodySize);
        destination[p++] = 0;
        p += Varint.Write(destination[p..], timestampDelta);
        p += Varint.Write(destination[p..], offsetDelta);
        p += WriteBytes(destination[p..], key, keyIsNull);
        p += WriteBytes(destination[p..], value, valueIsNull);
        p += Varint.Write(destination[p..], headers.Length);
        foreach (var h in headers)
        {
            var keyLength = System.Text.Encoding.UTF8.GetByteCount(h.Key);
            p += Varint.Write(destination[p..], keyLength);
            p += System.Text.Encoding.UTF8.GetBytes(h.Key, destination[p..]);
            p += WriteBytes(destination[p..], h.Value is { } v ? v.Span : default, h.Value is null);
        }

        return p;
    }

    private static int BytesSize(int length) => Varint.SizeOf(length) + Math.Max(length, 0);

    private static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            return Varint.Write(destination, -1);
        }

        var p = Varint.Write(destination, bytes.Length);
        bytes.CopyTo(destination[p..]);
        return p + bytes.Length;
    }
}

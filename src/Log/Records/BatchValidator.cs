using System.Buffers.Binary;

namespace DataPlane.Log.Records;

/// <summary>
/// Checks record batches as a producer sent them: sizes, magic, CRC-32C and, for uncompressed batches, every
/// record. Compressed batches are not inflated (the log stores them as they came), so only their header
/// counts are checked against each other.
/// </summary>
internal static class BatchValidator
{
    /// <summary>Validates one or more batches laid end to end; all must be whole for the append to proceed.</summary>
    /// <param name="batches">The bytes of the batches.</param>
    /// <param name="maxBatchBytes">The largest batch accepted (<c>max.message.bytes</c>).</param>
    /// <param name="batchCount">How many batches the bytes hold.</param>
    /// <param name="recordCount">How many records they hold in total.</param>
    public static BatchError Validate(ReadOnlySpan<byte> batches, int maxBatchBytes, out int batchCount, out int recordCount)
    {
        batchCount = 0;
        recordCount = 0;
        if (batches.IsEmpty)
        {
            return BatchError.TooShort;
        }

        while (!batches.IsEmpty)
        {
            var error = ValidateOne(batches, maxBatchBytes, out var size, out var records);
            if (error != BatchError.None)
            {
                return error;
            }

            batches = batches[size..];
            batchCount++;
            recordCount += records;
        }

        return BatchError.None;
    }

    /// <summary>Validates the batch at the start of <paramref name="source"/>, which may hold more after it.</summary>
    public static BatchError ValidateOne(ReadOnlySpan<byte> source, int maxBatchBytes, out int size, out int records)
    {
        size = 0;
        records = 0;
        if (source.Length < RecordBatch.HeaderSize)
        {
            return BatchError.TooShort;
        }

        var batchLength = BinaryPrimitives.ReadInt32BigEndian(source[RecordBatch.LengthOffset..]);
        if (batchLength < RecordBatch.HeaderSize - RecordBatch.LogOverhead || batchLength > source.Length - RecordBatch.LogOverhead)
        {
            return BatchError.LengthMismatch;
        }

        size = batchLength + RecordBatch.LogOverhead;
        var batch = source[..size];
        if (batch[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic)
        {
            return BatchError.UnsupportedMagic;
        }

        if (size > maxBatchBytes)
        {
            return BatchError.TooLarge;
        }

        var crc = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatch.CrcOffset..]);
        if (crc != Crc32C.Compute(batch[RecordBatch.AttributesOffset..]))
        {
            return BatchError.CrcMismatch;
        }

        var codec = (int)RecordBatch.Codec(batch);
        if (codec > (int)CompressionCodec.Zstd)
        {
            return BatchError.UnknownCompression;
        }

        records = RecordBatch.RecordsCount(batch);
        if (records <= 0 || RecordBatch.LastOffsetDelta(batch) != records - 1)
        {
            return BatchError.RecordCountMismatch;
        }

        return codec == (int)CompressionCodec.None
            ? ValidateRecords(batch[RecordBatch.HeaderSize..], records)
            : BatchError.None;
    }

    private static BatchError ValidateRecords(ReadOnlySpan<byte> body, int expected)
    {
        var position = 0;
        var count = 0;
        while (position < body.Length)
        {
            if (!Varint.TryReadInt(body, ref position, out var length) || length <= 0 || length > body.Length - position)
            {
                return BatchError.MalformedRecord;
            }

            var record = body.Slice(position, length);
            position += length;
            if (!RecordCodec.TryParse(record, out var fields) || fields.OffsetDelta != count)
            {
                return BatchError.MalformedRecord;
            }

            count++;
        }

        return count == expected ? BatchError.None : BatchError.RecordCountMismatch;
    }
}

using System.Buffers;
using DataPlane.Log.Records;

namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    /// <summary>Enough of a batch header to know its base offset, size and last offset.</summary>
    private const int PeekSize = RecordBatch.LastOffsetDeltaOffset + 4;

    /// <summary>
    /// Kafka's fetch: whole batches from the one holding <paramref name="offset"/>, up to <paramref name="maxBytes"/>
    /// (the first batch is returned whole even if larger), the last one possibly partial.
    /// </summary>
    public ReadResult Read(long offset, int maxBytes)
    {
        var segments = Volatile.Read(ref _segments);
        var highWatermark = Volatile.Read(ref _highWatermark);
        var logStart = segments[0].BaseOffset;
        if (offset < logStart || offset > highWatermark)
        {
            return new ReadResult(LogError.OffsetOutOfRange, highWatermark, logStart, default);
        }

        Span<byte> header = stackalloc byte[PeekSize];
        for (var i = FindSegment(segments, offset); i < segments.Length && offset < highWatermark; i++)
        {
            var segment = segments[i];
            var end = segment.Size;
            var position = StartPosition(segment, offset);
            while (position + PeekSize <= end)
            {
                ReadExactly(segment, header, position);
                var size = RecordBatch.TotalSize(header);
                if (RecordBatch.LastOffset(header) >= offset)
                {
                    var length = Math.Min(Math.Max(maxBytes, size), end - position);
                    return new ReadResult(LogError.None, highWatermark, logStart, new FileSlice(segment.Log, position, (int)length));
                }

                position += size;
            }
        }

        return new ReadResult(LogError.None, highWatermark, logStart, default);
    }

    /// <summary>The first record at or after <paramref name="timestamp"/>, found through the time and offset indexes.</summary>
    public TimestampOffset FindOffset(long timestamp)
    {
        Span<byte> header = stackalloc byte[RecordBatch.HeaderSize];
        foreach (var segment in Volatile.Read(ref _segments))
        {
            if (segment.MaxTimestamp < timestamp)
            {
                continue;
            }

            var entry = segment.Times.Floor(timestamp, strictlyBelow: true);
            var from = entry < 0 ? segment.BaseOffset : segment.BaseOffset + segment.Times.ValueAt(entry);
            var position = StartPosition(segment, from);
            var end = segment.Size;
            while (position + RecordBatch.HeaderSize <= end)
            {
                ReadExactly(segment, header, position);
                var size = RecordBatch.TotalSize(header);
                if (RecordBatch.MaxTimestamp(header) >= timestamp)
                {
                    return FirstRecordAtOrAfter(segment, position, size, timestamp);
                }

                position += size;
            }
        }

        return new TimestampOffset(LogError.None, -1, -1);
    }

    private static TimestampOffset FirstRecordAtOrAfter(Segment segment, long position, int size, long timestamp)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var batch = bytes.AsMemory(0, size);
            ReadExactly(segment, batch.Span, position);
            if (RecordBatch.Codec(batch.Span) is not (CompressionCodec.None or CompressionCodec.Gzip))
            {
                // A codec this process cannot inflate: Kafka would name the batch's first offset too when it
                // cannot look inside, and a consumer starting there skips the earlier records itself.
                return new TimestampOffset(LogError.None, RecordBatch.BaseOffset(batch.Span), RecordBatch.MaxTimestamp(batch.Span));
            }

            using var reader = new RecordBatchReader(batch);
            while (reader.TryRead(out var record))
            {
                if (record.Timestamp >= timestamp)
                {
                    return new TimestampOffset(LogError.None, record.Offset, record.Timestamp);
                }
            }

            return new TimestampOffset(LogError.None, RecordBatch.LastOffset(batch.Span), RecordBatch.MaxTimestamp(batch.Span));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static int FindSegment(Segment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >>> 1;
            if (segments[mid].BaseOffset <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>The file position of the indexed batch at or before <paramref name="offset"/> (0 if none).</summary>
    private static long StartPosition(Segment segment, long offset)
    {
        var relative = offset - segment.BaseOffset;
        var entry = relative <= 0 ? -1 : segment.Offsets.Floor(relative);
        return entry < 0 ? 0 : segment.Offsets.ValueAt(entry);
    }

    private static void ReadExactly(Segment segment, Span<byte> destination, long position)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var read = RandomAccess.Read(segment.Log, destination[done..], position + done);
            if (read == 0)
            {
                throw new IOException($"{segment.LogPath} ended at {position + done} inside a batch readers may see.");
            }

            done += read;
        }
    }
}

using System.Buffers;
using System.Buffers.Binary;
using DataPlane.Log.Records;

namespace DataPlane.Log.Storage;

internal sealed partial class PartitionLog
{
    private static Segment[] LoadSegments(string directory, TopicConfig config, CommitLogOptions options, bool clean)
    {
        var now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var bases = new List<long>();
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*.log"))
        {
            if (Segment.TryParseBaseOffset(path, out var baseOffset))
            {
                bases.Add(baseOffset);
            }
        }

        bases.Sort();
        if (bases.Count == 0)
        {
            bases.Add(0);
        }

        var segments = new Segment[bases.Count];
        try
        {
            Recover(segments, bases, directory, config, options, clean, now);
        }
        catch
        {
            foreach (var segment in segments)
            {
                segment?.Dispose();
            }

            throw;
        }

        return segments;
    }

    private static void Recover(Segment[] segments, List<long> bases, string directory, TopicConfig config, CommitLogOptions options,
        bool clean, long now)
    {
        for (var i = 0; i < segments.Length; i++)
        {
            var last = i == segments.Length - 1;
            var segment = Segment.Open(directory, bases[i], config.IndexIntervalBytes, now, last ? config.SegmentBytes : 0, options.Preallocate);
            segments[i] = segment;
            var sane = segment.IndexesValid
                && (segment.Offsets.Count == 0 || segment.Offsets.ValueAt(segment.Offsets.Count - 1) < segment.Size)
                && (last || segment.Size == 0 || segment.Times.Count > 0);
            if (!sane)
            {
                Scan(segment, config, fromIndexEntry: false, verifyCrc: true);
            }
            else if (last)
            {
                Scan(segment, config, fromIndexEntry: true, verifyCrc: !clean);
            }
            else
            {
                segment.SetRecovered(bases[i + 1], segment.Times.Count == 0 ? -1 : segment.Times.LastKey, -1, 0);
            }

            if (!last)
            {
                // A rebuilt index gets the entry a roll seals with; then the file is cut to its entries (a rebuilt
                // one, or one a crash during a roll left preallocated), and the segment takes no more.
                segment.SealTimeIndex();
                segment.Offsets.Sync(); // a rebuilt index is otherwise only in the page cache: a crash would lose it
                segment.Times.Sync();
                segment.TrimIndexes();
            }
        }
    }

    /// <summary>
    /// Walks the segment batch by batch (length, magic, contiguous offsets and, after an unclean stop, CRC),
    /// re-adding index entries, and cuts the file at the first batch that is not whole. Starting from the last
    /// offset-index entry checks only the tail; if that entry does not point at the batch it names, the index is
    /// damaged and the whole segment is scanned instead.
    /// </summary>
    private static void Scan(Segment segment, TopicConfig config, bool fromIndexEntry, bool verifyCrc)
    {
        segment.ReserveIndexes();
        long position = 0;
        var expected = segment.BaseOffset;
        if (fromIndexEntry && segment.Offsets.Count > 0)
        {
            var entry = segment.Offsets.Count - 1;
            position = segment.Offsets.ValueAt(entry);
            expected = segment.BaseOffset + segment.Offsets.KeyAt(entry);
            if (!PointsAtBatch(segment, position, expected))
            {
                Scan(segment, config, fromIndexEntry: false, verifyCrc: true);
                return;
            }

            var relative = expected - segment.BaseOffset;
            var maxBefore = -1L;
            for (var t = segment.Times.Count - 1; t >= 0; t--)
            {
                if (segment.Times.ValueAt(t) <= relative)
                {
                    maxBefore = segment.Times.KeyAt(t);
                    break;
                }
            }

            segment.Offsets.TruncateTo(entry);
            segment.SetRecovered(expected, maxBefore, -1, config.IndexIntervalBytes + 1);
        }
        else
        {
            segment.Offsets.Clear();
            segment.Times.Clear();
            segment.SetRecovered(segment.BaseOffset, -1, -1, 0);
        }

        var fileLength = RandomAccess.GetLength(segment.Log);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (position + RecordBatch.HeaderSize <= fileLength)
            {
                var header = buffer.AsSpan(0, RecordBatch.HeaderSize);
                if (RandomAccess.Read(segment.Log, header, position) != header.Length)
                {
                    break;
                }

                var size = RecordBatch.TotalSize(header);
                if (size < RecordBatch.HeaderSize || size > fileLength - position
                    || header[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic
                    || RecordBatch.BaseOffset(header) != expected
                    || RecordBatch.LastOffsetDelta(header) < 0)
                {
                    break;
                }

                if (verifyCrc)
                {
                    if (size > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(size);
                    }

                    var batch = buffer.AsSpan(0, size);
                    if (RandomAccess.Read(segment.Log, batch, position) != size
                        || BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatch.CrcOffset..]) != Crc32C.Compute(batch[RecordBatch.AttributesOffset..]))
                    {
                        break;
                    }

                    header = batch[..RecordBatch.HeaderSize];
                }

                var lastOffset = RecordBatch.LastOffset(header);
                segment.OnBatchWritten(expected, lastOffset, RecordBatch.MaxTimestamp(header), position, size);
                expected = lastOffset + 1;
                position += size;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (position != fileLength)
        {
            segment.Truncate(position);
        }

        segment.Publish(position);
    }

    private static bool PointsAtBatch(Segment segment, long position, long baseOffset)
    {
        Span<byte> header = stackalloc byte[RecordBatch.HeaderSize];
        return position + RecordBatch.HeaderSize <= segment.Size
            && RandomAccess.Read(segment.Log, header, position) == header.Length
            && RecordBatch.BaseOffset(header) == baseOffset
            && header[RecordBatch.MagicOffset] == RecordBatch.CurrentMagic;
    }
}

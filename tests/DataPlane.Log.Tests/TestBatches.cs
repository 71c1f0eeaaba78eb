using System.Buffers.Binary;
using System.Text;
using DataPlane.Log.Records;

namespace DataPlane.Log.Tests;

/// <summary>Builds batches for tests.</summary>
internal static class TestBatches
{
    public const long BaseTime = 1_700_000_000_000;

    /// <summary>A batch of <paramref name="count"/> records "k{first+i}" -> "v{first+i}", timestamps BaseTime + first + i.</summary>
    public static byte[] Make(int first, int count, CompressionCodec codec = CompressionCodec.None, int valueBytes = 0, long? timestamp = null)
    {
        using var builder = new RecordBatchBuilder(codec);
        for (var i = first; i < first + count; i++)
        {
            var value = valueBytes > 0 ? new byte[valueBytes] : Encoding.UTF8.GetBytes($"v{i}");
            builder.Add(Encoding.UTF8.GetBytes($"k{i}"), value, timestamp ?? BaseTime + i);
        }

        return builder.Build().ToArray();
    }

    /// <summary>Rewrites the CRC after a test edits CRC-covered bytes, so only the edited check fails.</summary>
    public static byte[] Recrc(byte[] batch)
    {
        BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(RecordBatch.CrcOffset), Crc32C.Compute(batch.AsSpan(RecordBatch.AttributesOffset)));
        return batch;
    }

    public static string Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : "<null>";

    public static List<LogRecord> ReadAll(CommitLog log, string topic, int partition, long from = 0)
    {
        var records = new List<LogRecord>();
        var offset = from;
        while (true)
        {
            var read = log.Read(topic, partition, offset, 64 * 1024);
            Assert.Equal(LogError.None, read.Error);
            if (read.Records.Length == 0)
            {
                return records;
            }

            var batch = RecordBatchReader.ReadAll(read.Records.ToArray());
            records.AddRange(batch.Where(r => r.Offset >= offset));
            offset = batch[^1].Offset + 1;
        }
    }
}

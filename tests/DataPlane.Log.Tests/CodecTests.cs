using System.Text;
using DataPlane.Log.Records;

namespace DataPlane.Log.Tests;

public class CodecTests
{
    [Fact]
    public void Crc32C_MatchesTheCastagnoliCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    /// <summary>Around the three-block boundaries (3 x 256, 3 x 2048), at odd alignments, and a whole 16 KiB batch.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(767)]
    [InlineData(768)]
    [InlineData(769)]
    [InlineData(1543)]
    [InlineData(6143)]
    [InlineData(6144)]
    [InlineData(6145)]
    [InlineData(6912)]
    [InlineData(12_289)]
    [InlineData(16_363)]
    [InlineData(100_003)]
    public void Crc32C_OfLongInputs_MatchesABitwiseCrc(int length)
    {
        var data = new byte[length + 3];
        new Random(length).NextBytes(data);
        for (var start = 0; start < 3; start++)
        {
            var span = data.AsSpan(start, length);
            Assert.Equal(BitwiseCrc32C(span), Crc32C.Compute(span));
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(63L)]
    [InlineData(-64L)]
    [InlineData(64L)]
    [InlineData(8191L)]
    [InlineData(-8192L)]
    [InlineData(8192L)]
    [InlineData(-8193L)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Varint_RoundTripsAtEveryWidthBoundary(long value)
    {
        Span<byte> buffer = stackalloc byte[10];
        var written = Varint.Write(buffer, value);
        Assert.Equal(Varint.SizeOf(value), written);
        var position = 0;
        Assert.True(Varint.TryReadLong(buffer[..written], ref position, out var read));
        Assert.Equal(value, read);
        Assert.Equal(written, position);
        position = 0;
        Assert.False(Varint.TryReadLong(buffer[..(written - 1)], ref position, out _));
    }

    [Theory]
    [InlineData(CompressionCodec.None)]
    [InlineData(CompressionCodec.Gzip)]
    public void Builder_Reader_RoundTripKeysValuesHeadersAndNulls(CompressionCodec codec)
    {
        using var builder = new RecordBatchBuilder(codec);
        builder.Add(Encoding.UTF8.GetBytes("key"), Encoding.UTF8.GetBytes("value"), 1000, [new LogHeader("h1", new byte[] { 1, 2 }), new LogHeader("h2", null)]);
        builder.Add(null, Encoding.UTF8.GetBytes("no key"), 999);
        builder.Add(Encoding.UTF8.GetBytes("tombstone"), null, 1005);
        var batch = builder.Build().ToArray();

        Assert.Equal(BatchError.None, BatchValidator.Validate(batch, 1 << 20, out var batches, out var records));
        Assert.Equal((1, 3), (batches, records));
        Assert.Equal(codec, RecordBatch.Codec(batch));
        Assert.Equal(1005, RecordBatch.MaxTimestamp(batch));

        var read = RecordBatchReader.ReadAll(batch);
        Assert.Equal([0L, 1, 2], read.Select(r => r.Offset));
        Assert.Equal([1000L, 999, 1005], read.Select(r => r.Timestamp));
        Assert.Equal(["key", "<null>", "tombstone"], read.Select(r => TestBatches.Text(r.Key)));
        Assert.Equal(["value", "no key", "<null>"], read.Select(r => TestBatches.Text(r.Value)));
        Assert.Equal(["h1", "h2"], read[0].Headers.Select(h => h.Key));
        Assert.Equal(new byte[] { 1, 2 }, read[0].Headers[0].Value!.Value.ToArray());
        Assert.Null(read[0].Headers[1].Value);
        Assert.Empty(read[1].Headers);
    }

    [Fact]
    public void Reader_AtEveryCutOfTwoBatches_ReturnsOnlyTheWholeBatches()
    {
        var first = TestBatches.Make(0, 3);
        var second = TestBatches.Make(3, 2, CompressionCodec.Gzip);
        byte[] both = [.. first, .. second];
        for (var cut = 0; cut <= both.Length; cut++)
        {
            var records = RecordBatchReader.ReadAll(both.AsMemory(0, cut));
            var expected = cut == both.Length ? 5 : cut >= first.Length ? 3 : 0;
            Assert.Equal(expected, records.Count);
        }
    }

    [Theory]
    [InlineData(CompressionCodec.Snappy)]
    [InlineData(CompressionCodec.Lz4)]
    [InlineData(CompressionCodec.Zstd)]
    public void Reader_OtherCodecs_FailWithAnErrorNamingTheCodec(CompressionCodec codec)
    {
        var batch = TestBatches.Make(0, 2);
        batch[RecordBatch.AttributesOffset + 1] = (byte)codec;
        TestBatches.Recrc(batch);
        var error = Assert.Throws<NotSupportedException>(() => RecordBatchReader.ReadAll(batch));
        Assert.Contains(codec.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => new RecordBatchBuilder(codec));
    }

    [Fact]
    public void Reader_CorruptBatch_FailsItsCrcCheck()
    {
        var batch = TestBatches.Make(0, 2);
        batch[^1] ^= 0x10;
        Assert.Throws<InvalidDataException>(() => RecordBatchReader.ReadAll(batch));
    }

    [Fact]
    public void Builder_HeaderFields_AreWhatAKafkaProducerSends()
    {
        var batch = TestBatches.Make(5, 4);
        Assert.Equal(0, RecordBatch.BaseOffset(batch));
        Assert.Equal(batch.Length, RecordBatch.TotalSize(batch));
        Assert.Equal(2, batch[RecordBatch.MagicOffset]);
        Assert.Equal(3, RecordBatch.LastOffsetDelta(batch));
        Assert.Equal(4, RecordBatch.RecordsCount(batch));
        Assert.Equal(TestBatches.BaseTime + 5, RecordBatch.BaseTimestamp(batch));
        Assert.Equal(TestBatches.BaseTime + 8, RecordBatch.MaxTimestamp(batch));
        Assert.Equal(-1L, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(RecordBatch.ProducerIdOffset)));
    }

    /// <summary>The textbook reflected CRC-32C, one bit at a time.</summary>
    private static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}

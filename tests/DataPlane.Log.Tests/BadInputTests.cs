using System.Buffers.Binary;
using DataPlane.Log.Records;

namespace DataPlane.Log.Tests;

public class BadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CommitLog _log;

    public BadInputTests()
    {
        _log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        Assert.Equal(LogError.None, _log.CreateTopic("t", 1, new TopicConfig { MaxMessageBytes = 4096 }));
    }

    public static TheoryData<string> Cases => ["crc", "magic", "length-long", "length-short", "count", "last-delta", "record", "codec", "too-large", "empty", "short", "second-batch-bad"];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Append_BadBatch_IsRejectedWithItsErrorAndNothingIsAppended(string kind)
    {
        Assert.Equal(LogError.None, (await _log.AppendAsync("t", 0, TestBatches.Make(0, 2))).Error);
        var good = TestBatches.Make(0, 3);
        var (bytes, error, detail) = Damage(kind, good);

        var result = await _log.AppendAsync("t", 0, bytes);

        Assert.Equal((error, detail), (result.Error, result.BatchError));
        Assert.Equal(-1, result.BaseOffset);
        Assert.Equal(2, _log.GetOffsets("t", 0).HighWatermark);
        Assert.Equal(2, TestBatches.ReadAll(_log, "t", 0).Count);
        Assert.Equal(2, (await _log.AppendAsync("t", 0, good)).BaseOffset);
    }

    [Fact]
    public async Task Append_UnknownTopicOrPartition_IsAnErrorValue()
    {
        Assert.Equal(LogError.UnknownTopicOrPartition, (await _log.AppendAsync("nope", 0, TestBatches.Make(0, 1))).Error);
        Assert.Equal(LogError.UnknownTopicOrPartition, (await _log.AppendAsync("t", 1, TestBatches.Make(0, 1))).Error);
        Assert.Equal(LogError.UnknownTopicOrPartition, _log.Read("t", -1, 0, 100).Error);
    }

    [Theory]
    [InlineData("", LogError.InvalidTopic)]
    [InlineData("..", LogError.InvalidTopic)]
    [InlineData("a/b", LogError.InvalidTopic)]
    [InlineData("t", LogError.TopicAlreadyExists)]
    public void CreateTopic_BadNameOrExisting_IsRefused(string name, LogError expected)
    {
        Assert.Equal(expected, _log.CreateTopic(name, 1));
        Assert.Equal(LogError.InvalidPartitions, _log.CreateTopic("fresh", 0));
    }

    public void Dispose()
    {
        _log.Dispose();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private static (byte[] Bytes, LogError Error, BatchError Detail) Damage(string kind, byte[] good)
    {
        var b = (byte[])good.Clone();
        switch (kind)
        {
            case "crc":
                b[^1] ^= 1;
                return (b, LogError.CorruptMessage, BatchError.CrcMismatch);
            case "magic":
                b[RecordBatch.MagicOffset] = 1;
                return (b, LogError.CorruptMessage, BatchError.UnsupportedMagic);
            case "length-long":
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.LengthOffset), b.Length);
                return (b, LogError.CorruptMessage, BatchError.LengthMismatch);
            case "length-short":
                // Says one byte less than it has: the CRC then covers the wrong bytes, and one byte is left over.
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.LengthOffset), b.Length - RecordBatch.LogOverhead - 1);
                return (b, LogError.CorruptMessage, BatchError.CrcMismatch);
            case "count":
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.RecordsCountOffset), 4);
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.LastOffsetDeltaOffset), 3);
                return (TestBatches.Recrc(b), LogError.InvalidRecord, BatchError.RecordCountMismatch);
            case "last-delta":
                BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(RecordBatch.LastOffsetDeltaOffset), 7);
                return (TestBatches.Recrc(b), LogError.InvalidRecord, BatchError.RecordCountMismatch);
            case "record":
                b[RecordBatch.HeaderSize] = 0x7F; // the first record's length runs past the batch
                return (TestBatches.Recrc(b), LogError.InvalidRecord, BatchError.MalformedRecord);
            case "codec":
                b[RecordBatch.AttributesOffset + 1] = 5;
                return (TestBatches.Recrc(b), LogError.UnsupportedCompressionType, BatchError.UnknownCompression);
            case "too-large":
                return (TestBatches.Make(0, 1, valueBytes: 5000), LogError.MessageTooLarge, BatchError.TooLarge);
            case "empty":
                return ([], LogError.CorruptMessage, BatchError.TooShort);
            case "short":
                return (b[..40], LogError.CorruptMessage, BatchError.TooShort);
            case "second-batch-bad":
                var bad = (byte[])good.Clone();
                bad[^3] ^= 0x40;
                return ([.. good, .. bad], LogError.CorruptMessage, BatchError.CrcMismatch);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }
}

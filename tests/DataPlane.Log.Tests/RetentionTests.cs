using Microsoft.Extensions.Time.Testing;

namespace DataPlane.Log.Tests;

public class RetentionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task RetentionByTime_DeletesClosedSegmentsWhoseNewestRecordIsOlder_OnTheBackgroundCheck()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(TestBatches.BaseTime));
        await using var log = CommitLog.Open(new CommitLogOptions
        {
            DataDirectory = _dir.Path,
            TimeProvider = clock,
            RetentionCheckInterval = TimeSpan.FromMinutes(1),
            FileDeleteDelay = TimeSpan.FromSeconds(30),
        });
        log.CreateTopic("t", 1, new TopicConfig { SegmentBytes = 1024, RetentionTime = TimeSpan.FromHours(1) });

        // Three segments whose records carry the clock's time: T0, T0 + 10 min, T0 + 20 min (the active one).
        var batch = TestBatches.Make(0, 2);
        var perSegment = 1024 / batch.Length;
        for (var segment = 0; segment < 3; segment++)
        {
            for (var i = 0; i < perSegment; i++)
            {
                var stamped = TestBatches.Make(0, 2, timestamp: clock.GetUtcNow().ToUnixTimeMilliseconds());
                Assert.Equal(LogError.None, (await log.AppendAsync("t", 0, stamped)).Error);
            }

            if (segment < 2)
            {
                clock.Advance(TimeSpan.FromMinutes(10));
            }
        }

        Assert.True(log.TryGet("t", 0, out var partition));
        var bases = partition.Segments.Select(s => s.BaseOffset).ToArray();
        Assert.Equal(3, bases.Length);
        var oldRead = log.Read("t", 0, 0, 100).Records;

        // At T0 + 60 min segment 0 is exactly an hour old: kept. The check a minute later deletes it.
        clock.Advance(TimeSpan.FromMinutes(40));
        Assert.Equal(bases, partition.Segments.Select(s => s.BaseOffset));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(bases[1..], partition.Segments.Select(s => s.BaseOffset));
        Assert.Equal(bases[1], log.GetOffsets("t", 0).LogStartOffset);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "t-0", $"{0:D20}.log")));
        Assert.Equal(LogError.OffsetOutOfRange, log.Read("t", 0, 0, 100).Error);
        Assert.Equal(LogError.OffsetOutOfRange, log.Read("t", 0, bases[1] - 1, 100).Error);
        Assert.Equal(LogError.None, log.Read("t", 0, bases[1], 100).Error);

        // A slice handed out before the deletion stays readable for the delete delay, then its file is closed.
        Assert.Equal(0, RecordBatchReaderFirstOffset(oldRead.ToArray()));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.ThrowsAny<ObjectDisposedException>(() => oldRead.ToArray());

        // Ten minutes on, segment 1 goes too; the active segment never does.
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(bases[2..], partition.Segments.Select(s => s.BaseOffset));
        clock.Advance(TimeSpan.FromHours(5));
        Assert.Equal(bases[2..], partition.Segments.Select(s => s.BaseOffset));
        Assert.Equal(perSegment * 2, TestBatches.ReadAll(log, "t", 0, bases[2]).Count);
    }

    [Fact]
    public async Task RetentionBySize_DeletesOldestClosedSegmentsFirst_NeverTheActiveOne()
    {
        await using var log = CommitLog.Open(new CommitLogOptions { DataDirectory = _dir.Path });
        var batch = TestBatches.Make(0, 2);
        log.CreateTopic("t", 1, new TopicConfig { SegmentBytes = 1024, RetentionBytes = 2500, RetentionTime = null });
        for (var i = 0; i < 80; i++)
        {
            await log.AppendAsync("t", 0, batch);
        }

        Assert.True(log.TryGet("t", 0, out var partition));
        var before = partition.Segments.ToArray();
        Assert.True(before.Length >= 5);
        var deleted = log.EnforceRetention();

        var after = partition.Segments;
        Assert.Equal(before.Length - deleted, after.Count);
        Assert.Equal(before[deleted..].Select(s => s.BaseOffset), after.Select(s => s.BaseOffset));
        var total = after.Sum(s => s.Size);
        Assert.True(total >= 2500 && total - after[0].Size < 2500, $"kept {total} bytes");
        Assert.Equal(after[0].BaseOffset, log.GetOffsets("t", 0).LogStartOffset);
        Assert.Equal(160 - after[0].BaseOffset, TestBatches.ReadAll(log, "t", 0, after[0].BaseOffset).Count);

        // However small the limit, the active segment stays.
        log.CreateTopic("tiny", 1, new TopicConfig { SegmentBytes = 1024, RetentionBytes = 1, RetentionTime = null });
        for (var i = 0; i < 20; i++)
        {
            await log.AppendAsync("tiny", 0, batch);
        }

        log.EnforceRetention();
        Assert.True(log.TryGet("tiny", 0, out var tiny));
        Assert.Single(tiny.Segments);
        Assert.Equal(40, log.GetOffsets("tiny", 0).HighWatermark);
    }

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    private static long RecordBatchReaderFirstOffset(byte[] bytes) => Records.RecordBatchReader.ReadAll(bytes)[0].Offset;
}
